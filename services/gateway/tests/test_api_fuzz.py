"""Property-based fuzz of the REST API from its own OpenAPI document.

schemathesis generates valid and invalid requests for every operation and
sends them in-process (ASGI) with a valid token of an admin who may also
manage their own tokens, so that requests get past authentication into the
services. No request may cause a server error, and answers must match the
documented schemas.

Examples per operation: ``RSP_FUZZ_EXAMPLES`` (default 25, seconds in all;
set it to a few hundred for a thorough run). The examples are the same on
every run unless ``RSP_FUZZ_RANDOM`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import MakeSession
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from support.credentials import bearer

EXAMPLES = int(os.environ.get("RSP_FUZZ_EXAMPLES", "25"))
RANDOM = bool(os.environ.get("RSP_FUZZ_RANDOM"))

FUZZ_USER = "someuser"
"""The user of the fuzzing token: the OpenAPI example user name, so that
requests that use the examples act on the caller's own tokens."""

FUZZ_SCOPES = ["admin:token", "admin:userinfo", "user:token", "read:tap"]


def _documented_schema() -> schemathesis.BaseSchema:
    """The OpenAPI document the app serves (it does not depend on configuration)."""
    placeholder = Config(
        database_url=SecretStr("sqlite+aiosqlite://"),
        session_secret=SecretStr("p" * 32),
        token_hash_key=SecretStr("p" * 32),
        dev_login=True,
        log_json=False,
    )
    return schemathesis.openapi.from_dict(create_app(placeholder).openapi())


schema = _documented_schema()


@pytest.fixture
def fuzz_app(config: Config) -> Iterator[FastAPI]:
    """An app on the test's database whose lifespan schemathesis runs."""
    app = create_app(config)
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()


@pytest.fixture
async def fuzz_token(make_session: MakeSession) -> Token:
    """A valid session token of an admin with ``user:token``."""
    return await make_session(FUZZ_USER, FUZZ_SCOPES)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not RANDOM,
    database=None,
)
def test_api_never_fails(
    case: schemathesis.Case[Any], fuzz_app: FastAPI, fuzz_token: Token
) -> None:
    case.call_and_validate(
        app=fuzz_app,
        headers=bearer(fuzz_token),
        checks=[
            not_a_server_error,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
