"""The spawners' shared rules and the Kubernetes spawner's API calls.

The Kubernetes calls (home PVC, token Secret, discovery ConfigMap,
NetworkPolicy, their deletion) run against safir's ``MockKubernetesApi``.
KubeSpawner's own start, poll and stop, which list and watch pods and
events, run against a fake API server in ``test_nb_kube_lifecycle.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from kubernetes_asyncio.client import ApiException
from nbtest.catalogs import IMAGES
from rsp_notebooks.labobjects import LabObjectStore
from rsp_notebooks.spawner import LabSpawner
from rsp_notebooks.spawning import LabSpawnError, LabToken, check_token_lifetime
from safir.testing.kubernetes import MockKubernetesApi, patch_kubernetes

TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def auth_state(expires: datetime | None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "token": TOKEN,
        "token_expires": None if expires is None else expires.timestamp(),
        "uid": 40001,
        "gid": 40001,
        "groups": [{"name": "g_users", "id": 50001}],
    }
    state.update(extra)
    return state


def test_a_lab_never_outlives_its_token() -> None:
    day = 24 * 3600
    short = LabToken.from_auth_state(auth_state(NOW + timedelta(days=2)))
    with pytest.raises(LabSpawnError, match="log in again") as excinfo:
        check_token_lifetime(short, 3 * day, NOW)
    assert "2026-11-26 12:00 UTC" in str(excinfo.value)
    assert "at most 72 hours" in str(excinfo.value)
    check_token_lifetime(short, 1 * day, NOW)
    forever = LabToken.from_auth_state(auth_state(None))
    check_token_lifetime(forever, 30 * day, NOW)


def test_no_token_no_lab() -> None:
    with pytest.raises(LabSpawnError, match="holds no token"):
        LabToken.from_auth_state(None)
    with pytest.raises(LabSpawnError, match="holds no token"):
        LabToken.from_auth_state({"uid": 1})


class LabMockApi(MockKubernetesApi):
    """The mock with the deletions the spawner uses."""

    async def delete_namespaced_secret(self, name: str, namespace: str) -> Any:
        return self._delete_object(namespace, "Secret", name, "Foreground")

    async def delete_namespaced_network_policy(self, name: str, namespace: str) -> Any:
        return self._delete_object(namespace, "NetworkPolicy", name, "Foreground")


@pytest.fixture
def kubernetes() -> Iterator[LabMockApi]:
    with patch_kubernetes():
        yield LabMockApi()


def make_spawner(kubernetes: LabMockApi, tmp_path: Path, **options: Any) -> LabSpawner:
    discovery = tmp_path / "discovery.json"
    discovery.write_text(json.dumps({"services": {"ui": {}}}))
    spawner = LabSpawner(
        _mock=True,
        user=SimpleNamespace(name="alice", id=7, url="/nb/user/alice/"),
        namespace="nublado",
        images=IMAGES,
        instance_url="https://data.example.org",
        discovery_url=f"file://{discovery}",
        max_lab_age=3600,
    )
    spawner.store = LabObjectStore(kubernetes, kubernetes)
    spawner.user_options = options
    spawner.set_auth_state(auth_state(datetime.now(UTC) + timedelta(days=5)))
    return spawner


def names(kubernetes: LabMockApi, kind: str) -> list[str]:
    return [o.metadata.name for o in kubernetes.get_all_objects_for_test(kind)]


async def test_prepare_creates_the_labs_objects_and_stop_removes_them(
    kubernetes: LabMockApi, tmp_path: Path
) -> None:
    spawner = make_spawner(
        kubernetes, tmp_path, image_class="latest-daily", size="Small"
    )
    assert spawner.pod_name == "nb-alice"
    assert spawner.pvc_name == "nb-alice-home"
    await spawner._prepare()
    assert names(kubernetes, "PersistentVolumeClaim") == ["nb-alice-home"]
    assert names(kubernetes, "Secret") == ["nb-alice-lab"]
    assert names(kubernetes, "ConfigMap") == ["nb-alice-lab"]
    assert names(kubernetes, "NetworkPolicy") == ["nb-alice-lab"]
    secret = kubernetes.get_all_objects_for_test("Secret")[0]
    assert secret.string_data["ACCESS_TOKEN"] == TOKEN
    pod = await spawner.get_pod_manifest()
    container = pod.spec.containers[0]
    assert container.image == "ghcr.io/rsp/lab:d_2026_11_20"
    assert pod.spec.security_context.run_as_user == 40001
    assert pod.spec.active_deadline_seconds == 3600
    assert container.resources.limits["cpu"] == "1"
    messages = [e["message"] async for e in spawner.lab_progress()]
    assert messages[0] == "Checking your image, size and token"
    assert "Created your home volume nb-alice-home" in messages
    assert messages[-1].startswith("Starting lab d_2026_11_20 (Small")

    # A second spawn replaces the per-lab objects and keeps the home.
    spawner.set_auth_state(
        auth_state(datetime.now(UTC) + timedelta(days=5), token="gt-new.token")
    )
    await spawner._prepare()
    secret = kubernetes.get_all_objects_for_test("Secret")[0]
    assert secret.string_data["ACCESS_TOKEN"] == "gt-new.token"
    assert len(names(kubernetes, "PersistentVolumeClaim")) == 1

    await spawner.store.delete_lab_objects("nb-alice-lab", "nublado")
    assert names(kubernetes, "Secret") == []
    assert names(kubernetes, "ConfigMap") == []
    assert names(kubernetes, "NetworkPolicy") == []
    assert names(kubernetes, "PersistentVolumeClaim") == ["nb-alice-home"]
    await spawner.store.delete_home("nb-alice-home", "nublado")
    assert names(kubernetes, "PersistentVolumeClaim") == []


@pytest.mark.parametrize(
    ("options", "state", "message"),
    [
        ({"size": "huge"}, {}, "Unknown size 'huge'"),
        ({}, {"uid": None}, "no numeric user and group id"),
        ({}, {"uid": 0}, "never run as root"),
        (
            {},
            {"token_expires": (datetime.now(UTC) + timedelta(minutes=5)).timestamp()},
            "before a lab started now could end",
        ),
    ],
)
async def test_prepare_refuses_with_a_message_and_creates_nothing(
    kubernetes: LabMockApi,
    tmp_path: Path,
    options: dict[str, Any],
    state: dict[str, Any],
    message: str,
) -> None:
    spawner = make_spawner(kubernetes, tmp_path, **options)
    spawner.set_auth_state(auth_state(datetime.now(UTC) + timedelta(days=5)) | state)
    with pytest.raises(LabSpawnError, match=message):
        await spawner._prepare()
    assert names(kubernetes, "Secret") == []
    assert names(kubernetes, "PersistentVolumeClaim") == []


async def test_missing_discovery_fails_the_spawn(
    kubernetes: LabMockApi, tmp_path: Path
) -> None:
    spawner = make_spawner(kubernetes, tmp_path)
    spawner.discovery_url = f"file://{tmp_path / 'nowhere.json'}"
    with pytest.raises(LabSpawnError, match="Discovery file"):
        await spawner._prepare()


async def test_options_form_and_validation(
    kubernetes: LabMockApi, tmp_path: Path
) -> None:
    spawner = make_spawner(kubernetes, tmp_path)
    form = await spawner.get_options_form()
    assert "Latest daily: d_2026_11_20" in form
    options = spawner.run_options_from_form(
        {"image_tag": ["w_2026_40"], "size": ["large"]}
    )
    assert options["image_list"] == "ghcr.io/rsp/lab:w_2026_40"
    assert spawner.options_from_query({"image_class": "latest-weekly"})[
        "image_list"
    ] == ("ghcr.io/rsp/lab:w_2026_46")
    with pytest.raises(ValueError, match="not offered here"):
        spawner.run_options_from_form({"image_list": ["evil/miner:1"]})


async def test_store_surfaces_api_errors(kubernetes: LabMockApi) -> None:
    def fail(method: str, *_: Any) -> None:
        if method == "create_namespaced_secret":
            raise ApiException(status=500, reason="broken")

    kubernetes.error_callback = fail
    store = LabObjectStore(kubernetes, kubernetes)
    secret: Any = SimpleNamespace(metadata=SimpleNamespace(name="x", namespace="n"))
    with pytest.raises(ApiException):
        await store.put_secret(secret)


async def test_stopping_revokes_the_labs_token(
    kubernetes: LabMockApi, tmp_path: Path
) -> None:
    spawner = make_spawner(kubernetes, tmp_path)
    spawner.gateway_url = "http://gateway.test"
    url = "http://gateway.test/auth/api/v1/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAAA"
    with respx.mock() as router:
        route = router.delete(url).mock(return_value=httpx.Response(204))
        await spawner.revoke_lab_token()
        assert route.call_count == 1
        assert route.calls[0].request.headers["authorization"] == f"Bearer {TOKEN}"

        # After a hub restart the spawner has no state of its own: the hub's
        # current token of the user is revoked.
        async def get_auth_state() -> dict[str, Any]:
            return {"token": TOKEN}

        spawner._auth_state = None
        spawner.user.get_auth_state = get_auth_state
        await spawner.revoke_lab_token()
        assert route.call_count == 2

        # A gateway that cannot be reached does not stop the stop.
        route.mock(side_effect=httpx.ConnectError("down"))
        await spawner.revoke_lab_token()
