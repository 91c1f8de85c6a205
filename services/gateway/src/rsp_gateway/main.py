"""The gateway's ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from rsp_platform.requestid import RequestIdMiddleware

from .config import Config, load_config
from .exceptions import GatewayError, InvalidTokenError
from .factory import ProcessContext
from .handlers import api, health, ingress, ingress_ext_authz, login, page
from .log import configure_logging

__all__ = ["create_app"]

_STATIC = Path(__file__).parent / "static"


def create_app(config: Config | None = None) -> FastAPI:
    """Build the application (configuration from the environment if not given)."""
    config = config or load_config()
    configure_logging(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = await ProcessContext.from_config(config)
        try:
            await process.check_schema()
            await process.wait_for_redis()
        except BaseException:
            await process.aclose()
            raise
        app.state.process_context = process
        process.start_group_refresh()
        try:
            yield
        finally:
            await process.aclose()

    app = FastAPI(
        title="Science platform gateway",
        description=(
            "Login, tokens with scopes, and the ingress authorization subrequest."
        ),
        version="0.1.0",
        openapi_url="/auth/openapi.json",
        docs_url="/auth/docs",
        redoc_url="/auth/redoc",
        lifespan=lifespan,
    )
    app.state.config = config
    app.include_router(health.router)
    app.include_router(ingress.router)
    app.include_router(ingress_ext_authz.router)
    app.include_router(login.router)
    app.include_router(api.router)
    app.include_router(page.router)
    app.mount("/auth/static", StaticFiles(directory=_STATIC), name="static")
    app.add_middleware(RequestIdMiddleware)

    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        headers = {}
        if isinstance(exc, InvalidTokenError):
            realm = config.base_url.host or "platform"
            headers["WWW-Authenticate"] = (
                f'Bearer realm="{realm}", error="invalid_token",'
                f' error_description="{exc.message}"'
            )
        return JSONResponse(
            {"detail": exc.to_detail()}, status_code=exc.status_code, headers=headers
        )

    return app
