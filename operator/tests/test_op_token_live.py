"""ServiceToken end to end over the network, wired as the running operator is.

The gateway is served by uvicorn on loopback; the operator's start-up
handler builds its resources from settings (a real HTTP client, Kubernetes
configuration loaded, here into Safir's mock), as ``rsp-operator run`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import kopf
from optest.token_gateway import live_gateway
from optest.token_kube import ServiceTokens, mock_kubernetes
from pydantic import AnyHttpUrl, SecretStr
from rsp_operator.config import OperatorSettings
from rsp_operator.handlers import servicetoken
from rsp_operator.tokens.factory import ServiceTokenContext


def _handler(fn: object) -> Callable[..., Awaitable[None]]:
    return cast(Callable[..., Awaitable[None]], fn)


async def test_operator_against_live_gateway() -> None:
    async with live_gateway() as (url, gateway):
        settings = OperatorSettings(
            gateway_url=AnyHttpUrl(url),
            admin_token=SecretStr(gateway.admin_token),
        )
        memo: Any = kopf.Memo(settings=settings)
        with mock_kubernetes() as (mock, _):
            await _handler(servicetoken.start_service_tokens)(memo=memo)
            assert isinstance(memo["service_tokens"], ServiceTokenContext)
            tokens = ServiceTokens(mock)
            spec = {"username": "bot-live", "scopes": ["read:tap"], "lifetime": "P7D"}
            await tokens.create("live", spec)
            try:
                body = await tokens.get("live")
                await _handler(servicetoken.reconcile_service_token)(
                    body=body, memo=memo
                )
                token = await tokens.token("live")
                info = await gateway.token_info(token)
                assert info is not None
                assert info["username"] == "bot-live"
                assert (await tokens.ready("live"))["status"] == "True"

                await _handler(servicetoken.revoke_service_token)(
                    body=await tokens.get("live"), memo=memo
                )
                assert await gateway.token_info(token) is None
            finally:
                await _handler(servicetoken.stop_service_tokens)(memo=memo)
