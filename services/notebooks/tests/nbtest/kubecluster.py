"""A fake cluster for the lab spawner: API server, kubelet, client set-up.

:func:`fake_cluster` serves :class:`nbtest.kubeapi.FakeKubernetes` over HTTP
with the notebooks chart's spawner Role enforced, runs a
:class:`nbtest.kubelet.FakeKubelet`, and makes KubeSpawner's in-cluster
client configuration point at it (what the hub's ServiceAccount gives in a
cluster). On the way out it stops KubeSpawner's shared reflectors and
clients, so that the next test starts from nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import kubernetes_asyncio.config
import pytest
from kubernetes_asyncio.client import Configuration
from kubespawner import KubeSpawner, clients

from .chartrbac import HUB_USER, spawner_rules
from .kubeapi import FakeKubernetes
from .kubehttp import run_fake_kubernetes
from .kubelet import FakeKubelet

__all__ = ["NAMESPACE", "Cluster", "fake_cluster"]

NAMESPACE = "nublado"
"""The labs' namespace."""


@dataclass
class Cluster:
    """The fake API server, its kubelet and where it listens."""

    api: FakeKubernetes
    kubelet: FakeKubelet
    url: str


@asynccontextmanager
async def fake_cluster(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    """Run a fake cluster; KubeSpawner's clients reach it."""
    # The hub may do only what the chart's Role lets it.
    api = FakeKubernetes({NAMESPACE}, rules=spawner_rules(), user=HUB_USER)
    kubelet = FakeKubelet(api)
    default = Configuration.get_default_copy()
    async with run_fake_kubernetes(api) as url:

        def in_cluster_config() -> None:
            Configuration.set_default(Configuration(host=url))

        monkeypatch.setattr(
            kubernetes_asyncio.config, "load_incluster_config", in_cluster_config
        )
        try:
            yield Cluster(api, kubelet, url)
        finally:
            await KubeSpawner._stop_all_reflectors()
            await kubelet.close()
            loop = asyncio.get_running_loop()
            for key, client in list(clients._client_cache.items()):
                # A hub's shutdown has closed its clients already.
                session = client.api_client.rest_client.pool_manager
                if key[0] is loop and not session.closed:
                    await client.api_client.close()
            Configuration.set_default(default)
