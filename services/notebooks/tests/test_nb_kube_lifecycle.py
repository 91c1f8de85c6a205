"""The Kubernetes lab spawner's start, poll and stop through KubeSpawner.

The spawner runs unchanged against a fake API server over HTTP
(:mod:`nbtest.kubeapi`) with a simulated scheduler and kubelet
(:mod:`nbtest.kubelet`): KubeSpawner's reflectors list and watch pods and
events as they do in a cluster, and the pod goes Pending, Running and away
as a kubelet makes it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import kubernetes_asyncio.config
import pytest
import respx
from kubernetes_asyncio.client import Configuration
from kubespawner import clients
from nbtest.catalogs import IMAGES
from nbtest.kubeapi import FakeKubernetes
from nbtest.kubehttp import run_fake_kubernetes
from nbtest.kubelet import FakeKubelet
from rsp_notebooks.builders import (
    build_config_map,
    build_network_policy,
    build_pod,
    build_pvc,
    build_secret,
    to_manifest,
)
from rsp_notebooks.spawner import LabSpawner
from rsp_notebooks.spawning import LabToken

NAMESPACE = "nublado"
TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
DISCOVERY = {"services": {"data": {"tap": {"url": "https://data.example.org/api/tap"}}}}
REVOKE_URL = "http://gateway.test/auth/api/v1/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAAA"


@dataclass
class Cluster:
    """The fake API server, its kubelet and where it listens."""

    api: FakeKubernetes
    kubelet: FakeKubelet
    url: str


@pytest.fixture
async def cluster(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    api = FakeKubernetes({NAMESPACE})
    kubelet = FakeKubelet(api)
    default = Configuration.get_default_copy()
    async with run_fake_kubernetes(api) as url:

        def in_cluster_config() -> None:
            # What the hub's ServiceAccount configuration gives in a cluster.
            Configuration.set_default(Configuration(host=url))

        monkeypatch.setattr(
            kubernetes_asyncio.config, "load_incluster_config", in_cluster_config
        )
        try:
            yield Cluster(api, kubelet, url)
        finally:
            await LabSpawner._stop_all_reflectors()
            await kubelet.close()
            loop = asyncio.get_running_loop()
            for key, client in list(clients._client_cache.items()):
                if key[0] is loop:
                    await client.api_client.close()
            Configuration.set_default(default)


def make_spawner(cluster: Cluster, tmp_path: Path, **options: Any) -> LabSpawner:
    discovery = tmp_path / "discovery.json"
    discovery.write_text(json.dumps(DISCOVERY))
    spawner = LabSpawner(
        _mock=True,
        user=SimpleNamespace(name="alice", id=7, url="/nb/user/alice/"),
        namespace=NAMESPACE,
        k8s_api_host=cluster.url,
        images=IMAGES,
        instance_url="https://data.example.org",
        discovery_url=f"file://{discovery}",
        gateway_url="http://gateway.test",
        max_lab_age=3600,
        start_timeout=20,
        slow_spawn_message_threshold=0,
    )
    spawner.api_token = "hub-api-token-for-alice"
    spawner.user_options = spawner.run_options_from_form(options)
    spawner.set_auth_state(auth_state())
    return spawner


def auth_state(token: str = TOKEN) -> dict[str, Any]:
    return {
        "token": token,
        "token_expires": (datetime.now(UTC) + timedelta(days=5)).timestamp(),
        "uid": 40001,
        "gid": 40001,
        "groups": [{"name": "g_users", "id": 50001}],
    }


async def start_with_progress(
    spawner: LabSpawner,
) -> tuple[asyncio.Future[Any], list[dict[str, Any]]]:
    """Start as the hub does and gather what the progress page would show."""
    future = spawner.start()
    events = [e async for e in spawner.progress()]
    await asyncio.wait({future})
    return future, events


async def test_start_poll_and_stop_a_lab(cluster: Cluster, tmp_path: Path) -> None:
    spawner = make_spawner(
        cluster, tmp_path, image_class=["latest-weekly"], size=["large"]
    )
    with respx.mock() as router:
        revoke = router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        future, events = await start_with_progress(spawner)
        url = future.result()

        pod = cluster.api.read("pods", NAMESPACE, "nb-alice")
        assert pod["status"]["phase"] == "Running"
        assert url == f"http://{pod['status']['podIP']}:8888"

        # Each object is exactly what the builders (golden files) make.
        workload = spawner.lab_workload(LabToken.from_auth_state(auth_state()))
        discovery = json.dumps(DISCOVERY, indent=2, sort_keys=True)
        expected = {
            ("pods", "nb-alice"): build_pod(workload),
            ("persistentvolumeclaims", "nb-alice-home"): build_pvc(workload),
            ("secrets", "nb-alice-lab"): build_secret(workload),
            ("configmaps", "nb-alice-lab"): build_config_map(workload, discovery),
            ("networkpolicies", "nb-alice-lab"): build_network_policy(workload),
        }
        for (resource, name), built in expected.items():
            received = cluster.api.received[(resource, NAMESPACE, name)]
            assert received == to_manifest(built), resource
        container = pod["spec"]["containers"][0]
        assert container["image"] == "ghcr.io/rsp/lab:w_2026_46"
        assert container["resources"]["limits"]["cpu"] == "4"
        secret = cluster.api.read("secrets", NAMESPACE, "nb-alice-lab")
        assert base64.b64decode(secret["data"]["ACCESS_TOKEN"]).decode() == TOKEN

        messages = [e["message"] for e in events]
        assert messages[0] == "Checking your image, size and token"
        assert messages[-1] == "Your lab is ready"
        kube = "\n".join(messages)
        assert "Successfully assigned nublado/nb-alice to node-1" in kube
        assert 'Pulling image "ghcr.io/rsp/lab:w_2026_46"' in kube
        assert "Started container notebook" in kube
        progress = [e["progress"] for e in events if "progress" in e]
        assert progress == sorted(progress)

        assert await spawner.poll() is None

        await spawner.stop()
        assert cluster.api.names("pods", NAMESPACE) == []
        for resource in ("secrets", "configmaps", "networkpolicies"):
            assert cluster.api.names(resource, NAMESPACE) == [], resource
        assert cluster.api.names("persistentvolumeclaims", NAMESPACE) == [
            "nb-alice-home"
        ]
        assert revoke.call_count == 1
        assert await spawner.poll() == 1
