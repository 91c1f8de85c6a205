"""Fixtures of the ServiceToken tests (imported by ``operator/tests/conftest.py``).

- ``token_gateway``: the real gateway in-process on its own database
  (:class:`~optest.token_gateway.GatewayUnderTest`).
- ``token_clock``: the operator's clock, which a test can move forward.
- ``token_harness``: ServiceTokens in Safir's mock Kubernetes, reconciled by
  the operator's own kopf handlers pointed at ``token_gateway``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import kopf
import pytest
from kubernetes_asyncio import client
from optest.token_gateway import GATEWAY_URL, GatewayUnderTest, running_gateway
from optest.token_kube import KubeRecorder, ServiceTokens, mock_kubernetes
from pydantic import AnyHttpUrl, SecretStr
from rsp_operator.config import OperatorSettings
from rsp_operator.handlers.servicetoken import (
    check_service_token,
    reconcile_service_token,
    revoke_service_token,
)
from rsp_operator.tokens.factory import ServiceTokenContext
from safir.testing.kubernetes import MockKubernetesApi

__all__ = [
    "TokenClock",
    "TokenHarness",
    "token_clock",
    "token_gateway",
    "token_harness",
]


type Handler = Callable[..., Awaitable[None]]
"""A kopf handler called as kopf would, with keyword arguments."""


def _handler(fn: object) -> Handler:
    # kopf types its decorated handlers by role; tests pass only what they read.
    return cast(Handler, fn)


class TokenClock:
    """The operator's idea of now; starts at the real time, moves when told."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.offset += delta


class TokenHarness(ServiceTokens):
    """ServiceTokens, and the operator's handlers run on them as kopf would."""

    def __init__(
        self,
        mock: MockKubernetesApi,
        recorder: KubeRecorder,
        context: ServiceTokenContext,
        gateway: GatewayUnderTest,
        clock: TokenClock,
    ) -> None:
        super().__init__(mock)
        self.token_clock = clock
        self.recorder = recorder
        self.context = context
        self.gateway = gateway
        self.memo = kopf.Memo(service_tokens=context)

    async def reconnect(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        **settings: Any,
    ) -> None:
        """Rebuild the operator's context: another way to the gateway, settings.

        ``transport`` replaces the in-process one (`None`: real network to
        ``gateway_url``); ``settings`` override the operator's settings.
        """
        await self.context.aclose()
        values: dict[str, Any] = {
            "admin_token": SecretStr(self.gateway.admin_token),
            **settings,
        }
        http = httpx.AsyncClient(transport=transport)
        self.context = ServiceTokenContext(
            operator_settings(**values),
            http,
            client.ApiClient(),
            clock=self.token_clock,
        )
        self.memo["service_tokens"] = self.context

    async def reconcile(self, name: str) -> None:
        """Run the create/update/resume handler on the ServiceToken as it is now."""
        await _handler(reconcile_service_token)(
            body=await self.get(name), memo=self.memo
        )

    async def create_reconciled(
        self, name: str, spec: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a ServiceToken and reconcile it once; return it as created."""
        created = await self.create(name, spec)
        await self.reconcile(name)
        return created

    async def tick(self, name: str) -> None:
        """Run the timer handler once on the ServiceToken as it is now."""
        await _handler(check_service_token)(body=await self.get(name), memo=self.memo)

    async def delete(self, name: str) -> None:
        """Run the delete handler (kopf's finalizer), as on ``kubectl delete``."""
        body = await self.get(name)
        body["metadata"]["deletionTimestamp"] = datetime.now(UTC).isoformat()
        await _handler(revoke_service_token)(body=body, memo=self.memo)


@pytest.fixture
async def token_gateway() -> AsyncIterator[GatewayUnderTest]:
    """The real gateway on its own database, dropped afterwards."""
    async with running_gateway() as gateway:
        yield gateway


@pytest.fixture
def token_clock() -> TokenClock:
    """The operator's clock."""
    return TokenClock()


@pytest.fixture
def token_kubernetes() -> Iterator[tuple[MockKubernetesApi, KubeRecorder]]:
    """Safir's mock Kubernetes API, patched in, with a recorder of calls."""
    with mock_kubernetes() as (mock, recorder):
        yield mock, recorder


def operator_settings(**overrides: Any) -> OperatorSettings:
    """Settings pointing the operator at the in-process gateway."""
    values: dict[str, Any] = {"gateway_url": AnyHttpUrl(GATEWAY_URL)}
    values.update(overrides)
    return OperatorSettings(**values)


@pytest.fixture
async def token_harness(
    token_gateway: GatewayUnderTest,
    token_kubernetes: tuple[MockKubernetesApi, KubeRecorder],
    token_clock: TokenClock,
) -> AsyncIterator[TokenHarness]:
    """ServiceTokens reconciled by the operator against ``token_gateway``."""
    mock, recorder = token_kubernetes
    settings = operator_settings(admin_token=SecretStr(token_gateway.admin_token))
    http = httpx.AsyncClient(transport=token_gateway.transport)
    context = ServiceTokenContext(settings, http, client.ApiClient(), clock=token_clock)
    harness = TokenHarness(mock, recorder, context, token_gateway, token_clock)
    try:
        yield harness
    finally:
        await harness.context.aclose()
