"""The health check that the chart's probes call."""

from __future__ import annotations

from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.handlers.health import HEALTH_PATH
from rsp_gateway.main import create_app


async def test_health_answers_without_dependencies() -> None:
    # No lifespan: the check must answer without the database or Redis.
    config = Config(
        database_url=SecretStr("postgresql+asyncpg://nobody@127.0.0.1:1/none"),
        session_secret=SecretStr("s" * 44),
        token_hash_key=SecretStr("k" * 44),
        dev_login=True,
    )
    app = create_app(config)
    async with AsyncClient(
        transport=ASGITransport(app=app), base_url="http://gw"
    ) as client:
        response = await client.get(HEALTH_PATH)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert HEALTH_PATH not in app.openapi()["paths"]
