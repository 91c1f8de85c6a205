"""The real gateway for the ServiceToken tests: in-process, or served on loopback.

Each :func:`running_gateway` (ASGI, in-process) and :func:`live_gateway`
(uvicorn on a free loopback port) makes its own PostgreSQL database (migrated
with the gateway's Alembic migrations, dropped at the end) and Redis key
prefix (removed at the end), and runs the gateway application with its
lifespan. It has a bootstrap token with ``admin:token``, which the operator
uses as its admin token, as it would in a cluster.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import redis.asyncio as redis
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token
from rsp_gateway.storage.database import create_database_engine, migrate_database

__all__ = [
    "GATEWAY_URL",
    "FlakyTransport",
    "GatewayUnderTest",
    "gateway_config",
    "live_gateway",
    "running_gateway",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "RSP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("RSP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
GATEWAY_URL = "http://gateway.gateway.svc.cluster.local:8080"
"""Where the operator believes the gateway is (requests go to the app in-process)."""

API = "/auth/api/v1"


@dataclass
class GatewayUnderTest:
    """A running gateway and an admin's view of its tokens."""

    app: FastAPI
    transport: httpx.AsyncBaseTransport
    admin_token: str
    http: httpx.AsyncClient

    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def tokens_of(self, username: str) -> list[dict[str, Any]]:
        """The live tokens of ``username`` (admin listing)."""
        response = await self.http.get(
            f"{API}/users/{username}/tokens", headers=self._admin()
        )
        assert response.status_code == 200, response.text
        tokens: list[dict[str, Any]] = response.json()
        return tokens

    async def token_info(self, token: str) -> dict[str, Any] | None:
        """What the gateway says of ``token`` presented by itself (None: refused)."""
        response = await self.http.get(
            f"{API}/token-info", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 401:
            return None
        assert response.status_code == 200, response.text
        info: dict[str, Any] = response.json()
        return info

    async def revoke(self, username: str, key: str) -> None:
        """Revoke a token as an admin would."""
        response = await self.http.delete(
            f"{API}/users/{username}/tokens/{key}", headers=self._admin()
        )
        assert response.status_code == 204, response.text

    async def create_token(self, username: str, scopes: list[str]) -> str:
        """A service token made directly (for example to plant a foreign one)."""
        response = await self.http.post(
            f"{API}/tokens",
            headers=self._admin(),
            json={"username": username, "token_type": "service", "scopes": scopes},
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


def _database_url(name: str) -> str:
    admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return admin.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


async def _admin_execute(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _remove_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@asynccontextmanager
async def gateway_config() -> AsyncIterator[Config]:
    """A gateway configuration on a new database and Redis prefix; both removed.

    The bootstrap token (``admin:token``) is generated for this gateway.
    """
    name = f"op_token_test_{secrets.token_hex(6)}"
    prefix = f"op-token-test-{secrets.token_hex(6)}"
    await _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        url = _database_url(name)
        engine = create_database_engine(url)
        try:
            await migrate_database(engine)
        finally:
            await engine.dispose()
        yield Config(
            environment="local",
            base_url="http://localhost:8000",
            database_url=SecretStr(url),
            redis_url=SecretStr(REDIS_URL),
            redis_prefix=prefix,
            session_secret=SecretStr("op-test-session-secret-" + "s" * 32),
            token_hash_key=SecretStr("op-test-token-hash-key-" + "k" * 32),
            dev_login=True,
            log_json=False,
            bootstrap_token=SecretStr(str(Token.generate())),
        )
    finally:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _remove_redis_keys(prefix)


def _admin_token(config: Config) -> str:
    assert config.bootstrap_token is not None
    return config.bootstrap_token.get_secret_value()


@asynccontextmanager
async def running_gateway() -> AsyncIterator[GatewayUnderTest]:
    """Run the gateway in-process on its own new database; drop it afterwards."""
    async with gateway_config() as config:
        app = create_app(config)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url=GATEWAY_URL
            ) as http:
                yield GatewayUnderTest(app, transport, _admin_token(config), http)


@asynccontextmanager
async def live_gateway() -> AsyncIterator[tuple[str, GatewayUnderTest]]:
    """Serve the gateway with uvicorn on a free loopback port; yield its URL too.

    The server runs in its own thread and event loop, lifespan included.
    """
    async with gateway_config() as config:
        app = create_app(config)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
        )
        thread = threading.Thread(target=server.run, name="op-gateway", daemon=True)
        thread.start()
        try:
            for _ in range(400):
                if server.started or not thread.is_alive():
                    break
                await asyncio.sleep(0.05)
            if not server.started:
                raise RuntimeError("the gateway did not start under uvicorn")
            url = f"http://127.0.0.1:{port}"
            transport = httpx.AsyncHTTPTransport()
            async with httpx.AsyncClient(transport=transport, base_url=url) as http:
                yield url, GatewayUnderTest(app, transport, _admin_token(config), http)
        finally:
            server.should_exit = True
            await asyncio.to_thread(thread.join, 20)


class FlakyTransport(httpx.AsyncBaseTransport):
    """The in-process gateway, with a connection failure for chosen methods.

    Stands for a gateway that goes away in the middle of a reconcile.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.failing: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in self.failing:
            raise httpx.ConnectError("connection refused", request=request)
        return await self._inner.handle_async_request(request)
