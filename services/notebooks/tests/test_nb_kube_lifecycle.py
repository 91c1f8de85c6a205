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
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from jupyterhub.utils import format_exception
from nbtest.catalogs import IMAGES
from nbtest.chartrbac import HUB_USER
from nbtest.kubecluster import NAMESPACE, Cluster, fake_cluster
from rsp_notebooks.builders import (
    build_config_map,
    build_network_policy,
    build_pod,
    build_pvc,
    build_secret,
    to_manifest,
)
from rsp_notebooks.spawner import LabSpawner
from rsp_notebooks.spawning import LabSpawnError, LabToken
from traitlets.config import Config

TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
DISCOVERY = {"services": {"data": {"tap": {"url": "https://data.example.org/api/tap"}}}}
REVOKE_URL = "http://gateway.test/auth/api/v1/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
async def cluster(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    async with fake_cluster(monkeypatch) as running:
        yield running


def make_spawner(
    cluster: Cluster,
    tmp_path: Path,
    config: Config | None = None,
    start_timeout: int = 20,
    user: str = "alice",
    **options: Any,
) -> LabSpawner:
    discovery = tmp_path / "discovery.json"
    discovery.write_text(json.dumps(DISCOVERY))
    spawner = LabSpawner(
        _mock=True,
        config=config or Config(),
        user=SimpleNamespace(name=user, id=7, url=f"/nb/user/{user}/"),
        namespace=NAMESPACE,
        k8s_api_host=cluster.url,
        images=IMAGES,
        instance_url="https://data.example.org",
        discovery_url=f"file://{discovery}",
        gateway_url="http://gateway.test",
        max_lab_age=3600,
        start_timeout=start_timeout,
        slow_spawn_message_threshold=0,
    )
    spawner.api_token = f"hub-api-token-for-{user}"
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
    spawner.clear_state()  # the hub's User.spawn does so before every start
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

        before = len(cluster.api.requests)
        await spawner.stop()
        deletions = [p for m, p in cluster.api.requests[before:] if m == "DELETE"]
        assert deletions == [
            "/api/v1/namespaces/nublado/pods/nb-alice?gracePeriodSeconds=1",
            "/api/v1/namespaces/nublado/secrets/nb-alice-lab",
            "/api/v1/namespaces/nublado/configmaps/nb-alice-lab",
            "/apis/networking.k8s.io/v1/namespaces/nublado/networkpolicies/nb-alice-lab",
        ]
        assert cluster.api.names("pods", NAMESPACE) == []
        for resource in ("secrets", "configmaps", "networkpolicies"):
            assert cluster.api.names(resource, NAMESPACE) == [], resource
        assert cluster.api.names("persistentvolumeclaims", NAMESPACE) == [
            "nb-alice-home"
        ]
        assert revoke.call_count == 1
        assert await spawner.poll() == 1


async def test_a_lab_whose_image_cannot_be_pulled_fails_saying_why(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path, image_tag=["w_2026_40"])
    cluster.kubelet.missing_images.add("ghcr.io/rsp/lab:w_2026_40")
    started = time.monotonic()
    future, events = await start_with_progress(spawner)
    error = future.exception()
    assert isinstance(error, LabSpawnError)
    message = "The image ghcr.io/rsp/lab:w_2026_40 of your lab cannot be pulled"
    assert str(error).startswith(message)
    # At once, not after the start timeout (20 s).
    assert time.monotonic() - started < 10
    # What the progress page shows: Kubernetes' events, then the hub's
    # "Spawn failed: <message>" made from the error.
    messages = [e["message"] for e in events]
    assert any(
        'Failed to pull image "ghcr.io/rsp/lab:w_2026_40"' in m for m in messages
    )
    assert "Your lab is ready" not in messages
    assert format_exception(error)[0] == str(error)

    # The hub stops a failed spawn: the pod and the lab's objects go.
    with respx.mock() as router:
        router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        await spawner.stop()
    assert cluster.api.names("pods", NAMESPACE) == []
    assert cluster.api.names("secrets", NAMESPACE) == []


async def test_an_evicted_pod_fails_the_start(cluster: Cluster, tmp_path: Path) -> None:
    spawner = make_spawner(cluster, tmp_path, size=["small"])
    cluster.kubelet.evict_at_start = "The node was low on resource: memory."
    future, events = await start_with_progress(spawner)
    error = future.exception()
    assert isinstance(error, LabSpawnError)
    assert str(error) == (
        "Kubernetes stopped your lab (Evicted): The node was low on resource: memory."
    )
    assert any("[Warning] The node was low" in e["message"] for e in events)
    assert format_exception(error)[0] == str(error)


async def test_a_lab_that_does_not_run_in_time_fails_with_what_kubernetes_said(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path)
    spawner.start_timeout = 1
    cluster.kubelet.unschedulable = True
    started = time.monotonic()
    future, _ = await start_with_progress(spawner)
    error = future.exception()
    assert isinstance(error, LabSpawnError)
    assert str(error).startswith(
        "Your lab did not start within 1 seconds; Kubernetes said: 0/1 nodes are"
        " available: 1 Insufficient memory."
    )
    assert time.monotonic() - started < 8
    assert cluster.api.read("pods", NAMESPACE, "nb-alice")["status"]["phase"] == (
        "Pending"
    )


async def test_a_leftover_pod_is_replaced_and_the_new_labs_objects_kept(
    cluster: Cluster, tmp_path: Path
) -> None:
    # A pod of the same name from before (a hub restarted without its state).
    spawner = make_spawner(cluster, tmp_path)
    workload = spawner.lab_workload(LabToken.from_auth_state(auth_state()))
    leftover = to_manifest(build_pod(workload))
    leftover["metadata"]["labels"]["leftover"] = "true"
    await cluster.api.create("pods", NAMESPACE, leftover)
    await cluster.api.create(
        "persistentvolumeclaims", NAMESPACE, to_manifest(build_pvc(workload))
    )

    with respx.mock(assert_all_called=False) as router:
        revoke = router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        future, _ = await start_with_progress(spawner)
        assert future.exception() is None
        # KubeSpawner deleted the old pod to make the new one: the new lab
        # keeps its token, Secret, ConfigMap and NetworkPolicy.
        assert revoke.call_count == 0
    pod = cluster.api.read("pods", NAMESPACE, "nb-alice")
    assert "leftover" not in pod["metadata"]["labels"]
    assert pod["status"]["phase"] == "Running"
    for resource in ("secrets", "configmaps", "networkpolicies"):
        assert cluster.api.names(resource, NAMESPACE) == ["nb-alice-lab"], resource


async def test_poll_gives_the_exit_code_of_a_lab_that_ended(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path)
    with respx.mock() as router:
        revoke = router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        future, _ = await start_with_progress(spawner)
        future.result()
        assert await spawner.poll() is None

        await cluster.kubelet.terminate(NAMESPACE, "nb-alice", 0)
        await wait_for(lambda: _terminated(spawner))
        # The lab's process exited: poll says how, and the lab is cleaned up.
        assert await spawner.poll() == 0
        assert cluster.api.names("pods", NAMESPACE) == []
        assert cluster.api.names("secrets", NAMESPACE) == []
        assert revoke.call_count == 1

        # A pod deleted behind the hub's back (kubectl delete): exit status 1.
        future, _ = await start_with_progress(spawner)
        future.result()
        await cluster.api.delete("pods", NAMESPACE, "nb-alice", 0)
        await wait_for(lambda: not spawner.pod_reflector.pods)
        assert await spawner.poll() == 1


def _terminated(spawner: LabSpawner) -> bool:
    pod = spawner.pod_reflector.pods.get(f"{NAMESPACE}/nb-alice")
    return pod is not None and pod["status"]["phase"] == "Succeeded"


async def wait_for(condition: Callable[[], bool], seconds: int = 5) -> None:
    """Wait until ``condition()`` holds (the reflector saw a change)."""
    for _ in range(seconds * 20):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the reflector did not see the change in {seconds} s")


async def test_a_lab_that_crashes_as_it_starts_fails_the_start(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path)
    cluster.kubelet.crash_exit_code = 3
    future, events = await start_with_progress(spawner)
    error = future.exception()
    assert isinstance(error, LabSpawnError)
    assert str(error) == (
        "Your lab's process exited with code 3 as it started (CrashLoopBackOff)"
    )
    assert any("Back-off 10s restarting failed" in e["message"] for e in events)


async def test_a_lab_on_a_lost_node_still_loses_its_token(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path)
    future, _ = await start_with_progress(spawner)
    future.result()
    cluster.kubelet.node_lost = True
    spawner.start_timeout = 1
    with respx.mock() as router:
        revoke = router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        with pytest.raises(TimeoutError, match="did not disappear"):
            await spawner.stop()
        assert revoke.call_count == 1
    pod = cluster.api.read("pods", NAMESPACE, "nb-alice")
    assert "deletionTimestamp" in pod["metadata"]
    assert cluster.api.names("secrets", NAMESPACE) == []


async def test_the_reflectors_list_and_watch_again_after_each_timeout(
    cluster: Cluster, tmp_path: Path
) -> None:
    config = Config({"ResourceReflector": {"timeout_seconds": 1}})
    spawner = make_spawner(cluster, tmp_path, config)

    def pod_watches() -> int:
        return sum(
            1
            for method, path in cluster.api.requests
            if method == "GET" and "/pods?" in path and "watch=True" in path
        )

    future, _ = await start_with_progress(spawner)
    future.result()
    watches = pod_watches()
    # Each watch ends after 1 s; the reflector lists and watches again.
    await wait_for(lambda: pod_watches() >= watches + 2, seconds=10)
    assert await spawner.poll() is None

    with respx.mock() as router:
        router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        await spawner.stop()
    assert cluster.api.names("pods", NAMESPACE) == []
    assert await spawner.poll() == 1


async def test_the_hubs_state_keeps_the_labs_names_until_the_user_goes(
    cluster: Cluster, tmp_path: Path
) -> None:
    spawner = make_spawner(cluster, tmp_path, start_timeout=5)
    # The hub clears a spawner's state before every start, as here.
    spawner.clear_state()
    assert (spawner.pod_name, spawner.pvc_name) == ("nb-alice", "nb-alice-home")
    future, _ = await start_with_progress(spawner)
    assert future.exception() is None
    state = spawner.get_state()
    assert state["pod_name"] == "nb-alice"

    # After a hub restart, the spawner is made again from the saved state;
    # a state saved with KubeSpawner's own names still finds our pod.
    again = make_spawner(cluster, tmp_path)
    again.load_state({**state, "pod_name": "jupyter-alice", "pvc_name": "claim-alice"})
    assert (again.pod_name, again.pvc_name) == ("nb-alice", "nb-alice-home")
    assert await again.poll() is None
    with respx.mock() as router:
        router.delete(REVOKE_URL).mock(return_value=httpx.Response(204))
        await again.stop()
    again.clear_state()
    assert again.get_state()["pod_name"] == "nb-alice"
    assert cluster.api.names("pods", NAMESPACE) == []

    # Deleting the user deletes the home too.
    assert cluster.api.names("persistentvolumeclaims", NAMESPACE) == ["nb-alice-home"]
    await again.delete_forever()
    assert cluster.api.names("persistentvolumeclaims", NAMESPACE) == []


async def test_a_refused_api_call_fails_the_start_with_a_message(
    cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A Role that lost the right to create pods.
    assert cluster.api.rules is not None
    cluster.api.rules = cluster.api.rules - {("", "pods", "create")}
    spawner = make_spawner(cluster, tmp_path)
    future, _ = await start_with_progress(spawner)
    error = future.exception()
    assert isinstance(error, LabSpawnError)
    assert str(error) == (
        "Kubernetes refused a request for your lab (403 Forbidden); ask an"
        " administrator to look at the hub's log"
    )
    # The log has the API server's Status (quoted inside the error's body).
    assert HUB_USER in caplog.text
    assert 'cannot create resource \\"pods\\"' in caplog.text
    assert TOKEN not in caplog.text


async def test_two_users_start_at_once_on_the_shared_reflectors(
    cluster: Cluster, tmp_path: Path
) -> None:
    alice = make_spawner(cluster, tmp_path, size=["small"])
    bob = make_spawner(cluster, tmp_path, user="bob", size=["large"])
    bob.set_auth_state(auth_state("gt-BBBBBBBBBBBBBBBBBBBBBB.CCCCCCCCCCCCCCCCCCCCCC"))
    (a, a_events), (b, b_events) = await asyncio.gather(
        start_with_progress(alice), start_with_progress(bob)
    )
    assert a.result() != b.result()
    assert cluster.api.names("pods", NAMESPACE) == ["nb-alice", "nb-bob"]
    assert cluster.api.names("secrets", NAMESPACE) == ["nb-alice-lab", "nb-bob-lab"]
    # Each one's progress shows only their own pod's events.
    assert any("nublado/nb-alice" in e["message"] for e in a_events)
    assert not any("nb-bob" in e["message"] for e in a_events)
    assert not any("nb-alice" in e["message"] for e in b_events)
    policy = cluster.api.read("networkpolicies", NAMESPACE, "nb-bob-lab")
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {"rsp.platform/user": "bob"}
    }

    with respx.mock(assert_all_called=False) as router:
        router.delete(url__regex=r"http://gateway.test/.*").mock(
            return_value=httpx.Response(204)
        )
        await alice.stop()
    assert cluster.api.names("pods", NAMESPACE) == ["nb-bob"]
    assert await bob.poll() is None
    assert await alice.poll() == 1
