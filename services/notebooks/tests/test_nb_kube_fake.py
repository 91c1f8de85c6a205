"""The fake API server answers the real client as kube-apiserver does.

The lab spawner's lifecycle tests (``test_nb_kube_lifecycle.py``) are only
as good as this fake: here the ``kubernetes_asyncio`` client checks its
errors, lists, watches and pod deletion directly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiException
from nbtest.kubeapi import FakeKubernetes
from nbtest.kubehttp import run_fake_kubernetes
from nbtest.kubelet import FakeKubelet

NAMESPACE = "labs"


@dataclass
class Api:
    fake: FakeKubernetes
    kubelet: FakeKubelet
    core: Any  # CoreV1Api, given plain dictionaries as bodies
    networking: Any  # NetworkingV1Api


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    fake = FakeKubernetes({NAMESPACE})
    kubelet = FakeKubelet(fake, step_seconds=0.1)
    async with run_fake_kubernetes(fake) as url:
        api_client = client.ApiClient(client.Configuration(host=url))
        try:
            yield Api(
                fake,
                kubelet,
                client.CoreV1Api(api_client),
                client.NetworkingV1Api(api_client),
            )
        finally:
            await kubelet.close()
            await api_client.close()


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"component": "lab", **labels}},
        "spec": {"containers": [{"name": "notebook", "image": "lab:1"}]},
    }


async def until_running(api: Api, name: str) -> None:
    """Wait until the kubelet runs the pod."""
    for _ in range(100):
        current = api.fake.get("pods", NAMESPACE, name)
        if current and current["status"]["phase"] == "Running":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"pod {name} did not run in 5 seconds")


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body or b"{}")
    return body


async def test_errors_are_status_objects_with_their_codes(api: Api) -> None:
    secret = {"metadata": {"name": "s"}, "stringData": {"ACCESS_TOKEN": "gt-x"}}
    made = await api.core.create_namespaced_secret(NAMESPACE, secret)
    # stringData is folded into data, as the API server does.
    assert made.data == {"ACCESS_TOKEN": "Z3QteA=="}
    assert made.string_data is None
    assert made.metadata.uid
    assert int(made.metadata.resource_version) > 0

    with pytest.raises(ApiException) as conflict:
        await api.core.create_namespaced_secret(NAMESPACE, secret)
    assert conflict.value.status == 409
    assert status_of(conflict.value)["reason"] == "AlreadyExists"

    with pytest.raises(ApiException) as missing:
        await api.core.read_namespaced_config_map("nothing", NAMESPACE)
    assert missing.value.status == 404
    assert status_of(missing.value)["message"] == 'configmaps "nothing" not found'

    with pytest.raises(ApiException) as no_namespace:
        await api.core.create_namespaced_secret("elsewhere", secret)
    assert no_namespace.value.status == 404

    with pytest.raises(ApiException) as wrong:
        await api.core.create_namespaced_secret(
            NAMESPACE, {"metadata": {"name": "t", "namespace": "elsewhere"}}
        )
    assert wrong.value.status == 400

    made.metadata.resource_version = "1"
    with pytest.raises(ApiException) as stale:
        await api.core.replace_namespaced_secret("s", NAMESPACE, made)
    assert stale.value.status == 409
    assert status_of(stale.value)["reason"] == "Conflict"

    with pytest.raises(ApiException) as unnamed:
        await api.networking.create_namespaced_network_policy(
            NAMESPACE, {"metadata": {}, "spec": {"podSelector": {}}}
        )
    assert unnamed.value.status == 422


async def test_lists_and_watches_follow_resource_versions(api: Api) -> None:
    await api.core.create_namespaced_pod(NAMESPACE, pod("a"))
    await api.core.create_namespaced_pod(NAMESPACE, pod("b", leftover="true"))
    raw = await api.core.list_namespaced_pod(
        NAMESPACE, label_selector="leftover=true", _preload_content=False
    )
    listed = json.loads(await raw.read())
    assert [p["metadata"]["name"] for p in listed["items"]] == ["b"]
    version = listed["metadata"]["resourceVersion"]
    await until_running(api, "a")

    stream = watch.Watch()
    seen: list[tuple[str, str, str]] = []
    started = time.monotonic()
    async with stream.stream(
        api.core.list_namespaced_pod,
        namespace=NAMESPACE,
        field_selector="metadata.name=a",
        resource_version=version,
        timeout_seconds=1,
    ) as events:
        async for event in events:
            status = event["raw_object"]["status"]
            seen.append((event["type"], event["object"].metadata.name, status["phase"]))
    # Only changes after the list (the kubelet's), only pod "a", and the
    # stream ends by itself.
    assert {(kind, name) for kind, name, _ in seen} == {("MODIFIED", "a")}
    assert seen[0][2] == "Pending"
    assert seen[-1][2] == "Running"
    assert 1 <= time.monotonic() - started < 5

    with pytest.raises(ApiException) as unknown:
        await api.core.list_namespaced_pod(NAMESPACE, field_selector="spec.image=x")
    assert unknown.value.status == 400

    api.fake.compact()
    with pytest.raises(ApiException) as gone:
        await watch_from(api.core, version)
    assert gone.value.status == 410


async def watch_from(core: Any, version: str) -> None:
    """Watch pods from ``version`` until the stream ends."""
    stream = watch.Watch()
    async with stream.stream(
        core.list_namespaced_pod,
        namespace=NAMESPACE,
        resource_version=version,
        timeout_seconds=1,
    ) as events:
        async for _ in events:
            pass


async def test_pods_are_deleted_gracefully_by_the_kubelet(api: Api) -> None:
    await api.core.create_namespaced_pod(NAMESPACE, pod("lab"))
    await until_running(api, "lab")
    api.kubelet.shutdown_seconds = 0.3
    deleting = await api.core.delete_namespaced_pod(
        "lab", NAMESPACE, grace_period_seconds=5
    )
    assert deleting.kind == "Pod"
    current = api.fake.read("pods", NAMESPACE, "lab")
    assert current["metadata"]["deletionGracePeriodSeconds"] == 5
    assert current["status"]["phase"] == "Running"
    for _ in range(50):
        if api.fake.get("pods", NAMESPACE, "lab") is None:
            break
        await asyncio.sleep(0.1)
    assert api.fake.get("pods", NAMESPACE, "lab") is None
    with pytest.raises(ApiException) as missing:
        await api.core.delete_namespaced_pod("lab", NAMESPACE)
    assert missing.value.status == 404

    # Grace period 0: gone at once.
    await api.core.create_namespaced_pod(NAMESPACE, pod("lab"))
    await until_running(api, "lab")
    await api.core.delete_namespaced_pod("lab", NAMESPACE, grace_period_seconds=0)
    assert api.fake.get("pods", NAMESPACE, "lab") is None

    events = api.fake.list_objects("events", NAMESPACE)["items"]
    reasons = [e["reason"] for e in events]
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started", "Killing"):
        assert reason in reasons
    scheduled = next(e for e in events if e["reason"] == "Scheduled")
    assert scheduled["lastTimestamp"] is None
    assert scheduled["eventTime"].endswith("Z")


async def test_calls_the_rbac_rules_do_not_grant_are_forbidden() -> None:
    user = "system:serviceaccount:nublado:notebooks-hub"
    rules = frozenset({("", "secrets", "create"), ("", "pods", "list")})
    fake = FakeKubernetes({NAMESPACE}, rules=rules, user=user)
    async with (
        run_fake_kubernetes(fake) as url,
        client.ApiClient(client.Configuration(host=url)) as api_client,
    ):
        core: Any = client.CoreV1Api(api_client)
        secret = {"metadata": {"name": "s"}, "stringData": {"A": "b"}}
        await core.create_namespaced_secret(NAMESPACE, secret)
        await core.list_namespaced_pod(NAMESPACE)
        with pytest.raises(ApiException) as delete:
            await core.delete_namespaced_secret("s", NAMESPACE)
        with pytest.raises(ApiException) as watching:
            await watch_from(core, "0")
    assert delete.value.status == 403
    assert status_of(delete.value)["message"] == (
        f'secrets "s" is forbidden: User "{user}" cannot delete resource "secrets"'
        f' in API group "" in the namespace "{NAMESPACE}"'
    )
    assert watching.value.status == 403
    assert fake.names("secrets", NAMESPACE) == ["s"]
