"""The Kubernetes lab spawner driven by JupyterHub itself.

JupyterHub's own ``User.spawn`` and ``User.stop`` (in its ``MockHub``, with
configurable-http-proxy) run the lab spawner against the fake cluster: the
hub clears the spawner's state, calls the pre-spawn hook, starts, waits for
the lab to answer over HTTP, adds it to the proxy, and stops it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from jupyterhub.tests.mocking import MockHub
from jupyterhub.tests.utils import add_user
from nbtest.catalogs import IMAGES
from nbtest.kubecluster import NAMESPACE, Cluster, fake_cluster
from rsp_notebooks.spawner import LabSpawner
from rsp_notebooks.spawning import LabSpawnError
from traitlets.config import Config

CHP = Path(__file__).resolve().parents[3] / "node_modules/.bin/configurable-http-proxy"
TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"


def give_token(spawner: Any) -> None:
    """The pre-spawn step of the gateway authenticator: the user's token."""
    spawner.set_auth_state(
        {
            "token": TOKEN,
            "token_expires": (datetime.now(UTC) + timedelta(days=5)).timestamp(),
            "uid": 40001,
            "gid": 40001,
            "groups": [],
        }
    )


@pytest.fixture
async def hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[tuple[MockHub, Cluster]]:
    monkeypatch.chdir(tmp_path)
    discovery = tmp_path / "discovery.json"
    discovery.write_text(json.dumps({"services": {}}))
    async with fake_cluster(monkeypatch) as cluster:
        cluster.kubelet.serve_labs = True
        config = Config()
        config.JupyterHub.spawner_class = LabSpawner
        config.JupyterHub.db_url = "sqlite://"
        config.ConfigurableHTTPProxy.command = [str(CHP)]
        config.LabSpawner.namespace = NAMESPACE
        config.LabSpawner.k8s_api_host = cluster.url
        config.LabSpawner.images = IMAGES
        config.LabSpawner.discovery_url = f"file://{discovery}"
        config.LabSpawner.max_lab_age = 3600
        config.LabSpawner.start_timeout = 30
        config.LabSpawner.pre_spawn_hook = give_token
        app = MockHub.instance(config=config)
        try:
            await app.initialize([])
            await app.start()
            yield app, cluster
        finally:
            # The hub's cleanup (the proxy and any lab left), not its stop,
            # which would cancel every task of the loop, this test's too.
            await app.cleanup()
            app.log.handlers = []
            MockHub.clear_instance()


async def test_the_hub_spawns_and_stops_a_lab(
    hub: tuple[MockHub, Cluster],
) -> None:
    app, cluster = hub
    user = add_user(app.db, app, name="alice")
    # As the hub's spawn handler does: pending while User.spawn runs.
    user.spawner._spawn_pending = True
    spawn = asyncio.ensure_future(
        user.spawn(options={"image_class": "latest-daily", "size": "small"})
    )
    for _ in range(500):
        if user.spawner._start_future is not None:
            break
        await asyncio.sleep(0.01)
    # What the hub's progress API streams to the spawn page.
    messages = [e["message"] async for e in user.spawner._generate_progress()]
    await spawn
    user.spawner._spawn_pending = False
    assert messages[0] == "Server requested"
    assert "Checking your image, size and token" in messages
    assert any("Started container notebook" in m for m in messages)
    assert messages[-1] == "Your lab is ready"
    assert user.spawner.ready
    pod = cluster.api.read("pods", NAMESPACE, "nb-alice")
    assert pod["spec"]["containers"][0]["image"] == "ghcr.io/rsp/lab:d_2026_11_20"
    assert user.spawner.server.ip == pod["status"]["podIP"]
    assert await user.spawner.poll() is None

    with respx.mock(assert_all_called=False) as router:
        router.route(host="gateway.test").mock(return_value=httpx.Response(204))
        await user.stop()
    assert not user.spawner.active
    assert cluster.api.names("pods", NAMESPACE) == []
    assert cluster.api.names("secrets", NAMESPACE) == []
    assert user.spawner.get_state()["pod_name"] == "nb-alice"


async def test_the_hub_reports_a_failed_spawn_and_cleans_up(
    hub: tuple[MockHub, Cluster],
) -> None:
    app, cluster = hub
    cluster.kubelet.missing_images.add("ghcr.io/rsp/lab:w_2026_40")
    user = add_user(app.db, app, name="bob")
    with respx.mock(assert_all_called=False) as router:
        router.route(host="gateway.test").mock(return_value=httpx.Response(204))
        with pytest.raises(LabSpawnError, match="cannot be pulled"):
            await user.spawn(options={"image_tag": "w_2026_40"})
    # The hub stopped the failed lab: nothing of it is left but the home.
    assert not user.spawner.active
    assert cluster.api.names("pods", NAMESPACE) == []
    assert cluster.api.names("secrets", NAMESPACE) == []
    assert cluster.api.names("persistentvolumeclaims", NAMESPACE) == ["nb-bob-home"]
