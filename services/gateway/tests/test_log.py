"""Structured logging: JSON lines, request ids, and no secret ever logged."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import structlog
from asgi_lifespan import LifespanManager
from conftest import BASE_URL
from httpx import ASGITransport, AsyncClient
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.log import configure_logging, redact_tokens
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token
from rsp_gateway.models.userinfo import UserInfo


@pytest.fixture(autouse=True)
def _restore_logging(make_config: Callable[..., Config]) -> Iterator[None]:
    yield
    configure_logging(make_config())


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_redact_tokens() -> None:
    token = Token.generate()
    text = f"Bearer {token} and {token}"
    redacted = redact_tokens(text)
    assert token.secret not in redacted
    assert f"gt-{token.key}.<redacted>" in redacted


def test_json_lines_never_hold_a_secret(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(make_config(log_json=True))
    token = Token.generate()
    structlog.get_logger("rsp_gateway").warning("Saw", header=f"Bearer {token}")
    (line,) = _lines(capsys.readouterr().out)
    assert line["event"] == "Saw"
    assert line["level"] == "warning"
    assert "timestamp" in line
    assert token.secret not in json.dumps(line)


async def test_requests_carry_a_request_id(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_config(log_json=True))
    async with LifespanManager(app):
        process: ProcessContext = app.state.process_context
        service = Factory(process).create_token_service()
        token = await service.create_session_token(
            UserInfo(username="alice"), ["read:tap"], ip_address=None
        )
        data = await service.validate(token)
        assert data is not None
        await service.revoke_session(data, ip_address=None)
        capsys.readouterr()
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.get(
                "/ingress/auth",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"},
            )
    assert response.status_code == 401
    output = capsys.readouterr().out
    lines = [line for line in _lines(output) if line["event"] == "Invalid token"]
    assert lines
    assert lines[0]["request_id"] == "req-42"
    assert lines[0]["token_key"] == token.key
    assert token.secret not in output
