"""The service discovery application: ``GET /repertoire/discovery``.

Run with ``uvicorn rsp_discovery.main:create_app --factory``. The document
is built once at start-up from the configuration and the route table, so a
wrong configuration stops the process before it serves anything.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from rubin.repertoire import Discovery

from .config import Config, load_config
from .discovery import build_discovery

__all__ = ["PATH_PREFIX", "create_app"]

PATH_PREFIX = "/repertoire"
"""Path of the discovery route in the route table."""

CACHE_CONTROL = "public, max-age=300"
"""Clients may keep the document five minutes (DiscoveryClient does)."""

router = APIRouter()


def _discovery(request: Request) -> Discovery:
    discovery: Discovery = request.app.state.discovery
    return discovery


@router.get(
    f"{PATH_PREFIX}/discovery",
    summary="Services and datasets of this environment (rubin-repertoire model)",
    response_model=Discovery,
    response_model_exclude_none=True,
)
async def get_discovery(
    discovery: Annotated[Discovery, Depends(_discovery)], response: Response
) -> Discovery:
    response.headers["Cache-Control"] = CACHE_CONTROL
    return discovery


@router.get("/healthz", include_in_schema=False)
async def get_health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(config: Config | None = None) -> FastAPI:
    """Build the application from ``config`` (default: the environment's).

    Raises
    ------
    rsp_discovery.config.ConfigurationError
        If the configuration is invalid.
    """
    config = config or load_config()
    logging.getLogger("rsp_discovery").setLevel(config.log_level)
    app = FastAPI(
        title="Service discovery",
        openapi_url=f"{PATH_PREFIX}/openapi.json",
        docs_url=f"{PATH_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.discovery = build_discovery(config)
    app.include_router(router)
    return app
