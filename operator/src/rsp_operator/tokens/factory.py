"""Process-wide resources of the ServiceToken half of the operator.

:class:`ServiceTokenContext` holds what lives as long as the operator (the
HTTP client to the gateway, the Kubernetes API client, one lock per
ServiceToken, when each is next due for a check) and builds a
:class:`~rsp_operator.tokens.service.ServiceTokenService` on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config import ConfigException

from ..config import OperatorSettings
from ..gateway import GatewayClient
from .kubernetes import ServiceTokenStore
from .models import TokenOutcome
from .service import RETRY_DELAY, ServiceTokenService, utc_now

__all__ = ["GATEWAY_TIMEOUT", "ServiceTokenContext", "load_kubernetes_config"]

GATEWAY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
"""Timeouts of calls to the gateway."""


async def load_kubernetes_config() -> None:
    """Configure ``kubernetes_asyncio``: in-cluster, else the local kubeconfig."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except ConfigException:
        await config.load_kube_config()


class ServiceTokenContext:
    """Resources shared by every ServiceToken handler of the process.

    Parameters
    ----------
    settings
        The operator's settings.
    http
        HTTP client for the gateway (closed by :meth:`aclose`).
    api_client
        Kubernetes API client (closed by :meth:`aclose`).
    clock
        The current time (tests move it forward).
    """

    def __init__(
        self,
        settings: OperatorSettings,
        http: httpx.AsyncClient,
        api_client: client.ApiClient,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._http = http
        self._api_client = api_client
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._next_check: dict[str, datetime] = {}

    @classmethod
    async def create(cls, settings: OperatorSettings) -> ServiceTokenContext:
        """Build the context for a running operator (loads Kubernetes config)."""
        await load_kubernetes_config()
        http = httpx.AsyncClient(timeout=GATEWAY_TIMEOUT, follow_redirects=False)
        return cls(settings, http, client.ApiClient())

    def create_service(self) -> ServiceTokenService:
        """A service on this context's clients."""
        gateway = GatewayClient(
            self._http, str(self.settings.gateway_url), self.settings.admin_token
        )
        store = ServiceTokenStore(self._api_client)
        return ServiceTokenService(gateway, store, self._locks, clock=self._clock)

    def check_due(self, uid: str) -> bool:
        """Whether the periodic check of ServiceToken ``uid`` is due."""
        due = self._next_check.get(uid)
        return due is None or self._clock() >= due

    def checked(self, uid: str, outcome: TokenOutcome | None) -> None:
        """Record a check: the next one is due after the interval, or at rotation.

        ``outcome`` is `None` after a failed check (the next one after a
        short delay).
        """
        now = self._clock()
        if outcome is None:
            self._next_check[uid] = now + timedelta(seconds=RETRY_DELAY)
            return
        due = now + self.settings.token_check_interval
        if outcome.rotate_at is not None:
            due = min(due, outcome.rotate_at)
        self._next_check[uid] = due

    def forget(self, uid: str) -> None:
        """Drop what is known of a deleted ServiceToken."""
        self._next_check.pop(uid, None)
        self._locks.pop(uid, None)

    async def aclose(self) -> None:
        """Close the clients."""
        await self._http.aclose()
        await self._api_client.close()
