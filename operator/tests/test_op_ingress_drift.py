"""Objects edited behind the operator's back are put back by the resync timer.

The PlatformIngress does not change in these tests: only the timer
(:func:`rsp_operator.handlers.platformingress.resync_platform_ingress`)
runs, on the harness's clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import kopf
import pytest
from optest.ingress_harness import (
    NAMESPACE,
    IngressHarness,
    load_resource,
    operator_settings,
)
from optest.ingress_kube import ingress_kubernetes
from pydantic import ValidationError
from rsp_operator.config import IngressFlavour, OperatorSettings
from rsp_operator.handlers.platformingress import (
    TIMER_TICK,
    forget_platform_ingress,
    resync_platform_ingress,
)
from rsp_operator.ingress.drift import drift, holds
from rsp_operator.ingress.objects import OWNER_UID_LABEL, ROUTE_LABEL
from rsp_operator.ingress.resync import ResyncSchedule

AUTH_URL = "nginx.ingress.kubernetes.io/auth-url"
TEAM = "example.org/team"
"""An annotation of the PlatformIngress, passed on to its objects."""

FLAVOURS = [IngressFlavour.NGINX, IngressFlavour.GATEWAY_API]
HARNESS_READ = "get_namespaced_custom_object"
"""The harness reading the PlatformIngress for kopf (the only call if idle)."""

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(params=FLAVOURS, ids=str)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[IngressHarness]:
    """The tap route, reconciled once, in the flavour of the parameter."""
    with ingress_kubernetes() as kube:
        settings = operator_settings(ingress_flavour=request.param)
        harness = IngressHarness(kube, settings)
        body = load_resource("tap")
        body["metadata"]["annotations"] = {TEAM: "science"}
        await harness.apply(body)
        await harness.reconcile("tap")
        kube.clear_calls()
        yield harness
        await harness.close()


def _route_kind(harness: IngressHarness) -> str:
    if harness.settings.ingress_flavour is IngressFlavour.NGINX:
        return "Ingress"
    return "HTTPRoute"


def _object(harness: IngressHarness, kind: str, name: str = "tap") -> dict[str, Any]:
    """An object as stored, as a dictionary (Ingresses are stored typed)."""
    obj = harness.kube.objects(kind, NAMESPACE)[name]
    if isinstance(obj, dict):
        return obj
    data: dict[str, Any] = harness.api_client.sanitize_for_serialization(obj)
    return data


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    """What the operator writes of an object (not its version, uid, times)."""
    metadata = obj["metadata"]
    keys = ("name", "namespace", "labels", "annotations", "ownerReferences")
    return {"metadata": {k: metadata[k] for k in keys}, "spec": obj["spec"]}


async def _assert_put_back(harness: IngressHarness, kind: str, edit: Edit) -> None:
    """Edit the object, resync, and check the edit is undone by one replace."""
    kube = harness.kube
    before = _content(_object(harness, kind))
    await harness.edit(kind, "tap", edit)
    assert drift(_object(harness, kind), before) is not None

    await harness.resync("tap")

    verb = "replace_namespaced_ingress" if kind == "Ingress" else None
    writes = kube.writes()
    if writes[0].startswith("create_"):
        # Without its owner label it is not listed, so created: refused
        # (409), then found by name and replaced.
        writes = writes[1:]
    assert writes == [verb or "replace_namespaced_custom_object"]
    assert kube.event_reasons(NAMESPACE)[-1] == "DriftCorrected"
    assert holds(_object(harness, kind), before)

    # Put back: the next resync writes nothing at all.
    kube.clear_calls()
    events = len(kube.event_reasons(NAMESPACE))
    assert await harness.resync("tap") == {}
    assert kube.writes(events=True) == []
    assert len(kube.event_reasons(NAMESPACE)) == events


async def test_edited_annotation_is_put_back(harness: IngressHarness) -> None:
    def edit(obj: dict[str, Any]) -> None:
        annotations = obj["metadata"]["annotations"]
        if AUTH_URL in annotations:
            # Without it, ingress-nginx lets every request through.
            del annotations[AUTH_URL]
        annotations[TEAM] = "someone-else"

    await _assert_put_back(harness, _route_kind(harness), edit)
    annotations = _object(harness, _route_kind(harness))["metadata"]["annotations"]
    assert annotations[TEAM] == "science"
    if harness.settings.ingress_flavour is IngressFlavour.NGINX:
        assert "/ingress/auth?scope=read:tap" in annotations[AUTH_URL]


async def test_edited_spec_is_put_back(harness: IngressHarness) -> None:
    if harness.settings.ingress_flavour is IngressFlavour.NGINX:
        kind = "Ingress"

        def edit(obj: dict[str, Any]) -> None:
            path = obj["spec"]["rules"][0]["http"]["paths"][0]
            path["backend"]["service"]["name"] = "elsewhere"

    else:
        kind = "SecurityPolicy"

        def edit(obj: dict[str, Any]) -> None:
            obj["spec"]["extAuth"]["failOpen"] = True
            obj["spec"]["extAuth"]["headersToExtAuth"].pop()

    await _assert_put_back(harness, kind, edit)


@pytest.mark.parametrize("label", [OWNER_UID_LABEL, ROUTE_LABEL])
async def test_removed_label_is_put_back(harness: IngressHarness, label: str) -> None:
    """Even the label the operator finds its objects by (then by name)."""
    kind = _route_kind(harness)

    def edit(obj: dict[str, Any]) -> None:
        del obj["metadata"]["labels"][label]

    await _assert_put_back(harness, kind, edit)
    assert label in _object(harness, kind)["metadata"]["labels"]


async def test_deleted_object_is_made_again(harness: IngressHarness) -> None:
    kind = _route_kind(harness)
    if kind == "Ingress":
        await harness.kube.delete_namespaced_ingress("tap-anonymous", NAMESPACE)
    else:
        await harness.kube.delete_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", NAMESPACE, "httproutes", "tap-anonymous"
        )
    harness.kube.clear_calls()

    await harness.resync("tap")

    assert "tap-anonymous" in harness.kube.objects(kind, NAMESPACE)
    assert harness.kube.event_reasons(NAMESPACE)[-1] == "DriftCorrected"


async def test_server_defaults_and_foreign_annotations_are_not_drift(
    harness: IngressHarness,
) -> None:
    kube = harness.kube
    kinds = ["Ingress"]
    if harness.settings.ingress_flavour is IngressFlavour.GATEWAY_API:
        kinds = ["HTTPRoute", "SecurityPolicy"]

    def others(obj: dict[str, Any]) -> None:
        obj["metadata"]["annotations"].update(
            {
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "cert-manager.io/issuer-name": "letsencrypt",
            }
        )
        obj["metadata"]["labels"]["team"] = "science"
        obj["metadata"]["finalizers"] = ["example.org/keep"]
        if obj["kind"] == "HTTPRoute":
            # What the API server fills in.
            for rule in obj["spec"]["rules"]:
                for backend in rule["backendRefs"]:
                    backend["weight"] = 1
                rule["timeouts"] = {}
            obj["status"] = {"parents": []}
        elif obj["kind"] == "Ingress":
            # ingress-nginx's status.
            obj["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}

    for kind in kinds:
        for name in ("tap", "tap-anonymous"):
            await harness.edit(kind, name, others)

    assert await harness.resync("tap") == {}
    assert kube.writes(events=True) == []
    assert kube.calls  # it did look


async def test_unchanged_objects_are_not_written(harness: IngressHarness) -> None:
    kube = harness.kube
    assert await harness.resync("tap") == {}
    assert await harness.resync("tap") == {}
    assert kube.writes(events=True) == []
    assert kube.calls.count("list_namespaced_ingress") == 2


def _drop_annotations(obj: dict[str, Any]) -> None:
    del obj["metadata"]["annotations"]


async def test_timer_waits_for_the_interval(harness: IngressHarness) -> None:
    kube = harness.kube
    await harness.edit(_route_kind(harness), "tap", _drop_annotations)

    # The change handler just reconciled: nothing is due yet, not even a look.
    harness.now += harness.settings.resync_seconds - 1
    assert await harness.resync("tap", wait=False) == {}
    assert kube.calls == [HARNESS_READ]

    harness.now += 1
    await harness.resync("tap", wait=False)
    assert kube.writes()


async def test_timer_leaves_a_new_spec_to_the_change_handlers(
    harness: IngressHarness,
) -> None:
    body = load_resource("tap")
    body["spec"]["scopes"] = ["read:tap", "read:image"]
    await harness.apply(body)
    harness.kube.clear_calls()

    assert await harness.resync("tap") == {}
    assert harness.kube.calls == [HARNESS_READ]


async def test_permanent_failure_is_not_repeated(harness: IngressHarness) -> None:
    body = load_resource("tap")
    body["spec"]["scopes"] = ["exec:everything"]
    await harness.apply(body)
    with pytest.raises(kopf.PermanentError):
        await harness.reconcile("tap")
    harness.kube.clear_calls()
    events = harness.kube.event_reasons(NAMESPACE)
    assert events[-1] == "InvalidSpec"

    # Status and events already say it: the timer neither raises nor repeats.
    assert await harness.resync("tap") == {}
    assert harness.kube.writes(events=True) == []
    assert harness.kube.event_reasons(NAMESPACE) == events


async def test_failing_api_is_reported_once_and_retried(
    harness: IngressHarness,
) -> None:
    kube = harness.kube
    kube.missing_groups = {"gateway.networking.k8s.io", "gateway.envoyproxy.io"}
    if harness.settings.ingress_flavour is IngressFlavour.NGINX:
        harness.settings = operator_settings(ingress_flavour=IngressFlavour.GATEWAY_API)

    with pytest.raises(kopf.TemporaryError):
        await harness.resync("tap")
    stored = await harness.get("tap")
    assert stored["status"]["conditions"][0]["reason"] == "KubernetesError"
    assert kube.event_reasons(NAMESPACE)[-1] == "ReconcileFailed"
    events = len(kube.event_reasons(NAMESPACE))

    # Retried at the next tick, without waiting for the interval; no new event.
    with pytest.raises(kopf.TemporaryError):
        await harness.resync("tap", wait=False)
    assert len(kube.event_reasons(NAMESPACE)) == events

    kube.missing_groups = set()
    kube.clear_calls()
    await harness.resync("tap", wait=False)
    stored = await harness.get("tap")
    assert stored["status"]["conditions"][0]["status"] == "True"


def test_drift_compares_what_the_operator_wrote() -> None:
    desired: dict[str, Any] = {
        "metadata": {"labels": {"a": "1"}, "annotations": {"x": "y"}},
        "spec": {"rules": [{"port": 8080, "tls": True}], "tls": [], "class": None},
    }
    live: dict[str, Any] = {
        "metadata": {
            "labels": {"a": "1", "b": "2"},
            "annotations": {"x": "y", "z": "w"},
            "resourceVersion": "7",
        },
        "spec": {"rules": [{"port": 8080, "tls": True, "weight": 1}]},
        "status": {},
    }
    assert holds(live, desired)
    assert drift(live, {**desired, "kind": "Ingress"}) == "kind"
    live["spec"]["rules"].append({"port": 8081})
    assert drift(live, desired) == "spec.rules"
    live["spec"]["rules"] = [{"port": 8080, "tls": 1}]
    assert drift(live, desired) == "spec.rules[0].tls"
    live["spec"]["rules"] = [{"port": "8080", "tls": True}]
    assert drift(live, desired) == "spec.rules[0].port"
    live["spec"] = "spec"
    assert drift(live, desired) == "spec"


def test_resync_interval_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="resync_seconds"):
        OperatorSettings(resync_seconds=0)
    with pytest.raises(ValueError, match="positive"):
        ResyncSchedule(0)
    assert OperatorSettings().resync_seconds == 300


def test_timer_and_forgetting_are_registered() -> None:
    registry = kopf.get_default_registry()
    (timer,) = [
        h
        for h in registry._spawning.get_all_handlers()
        if h.fn is resync_platform_ingress
    ]
    assert getattr(timer, "interval", None) == TIMER_TICK
    assert timer.selector is not None
    assert timer.selector.plural == "platformingresses"
    (forget,) = [
        h
        for h in registry._changing.get_all_handlers()
        if h.fn is forget_platform_ingress
    ]
    assert not forget.requires_finalizer


async def test_forgetting_a_deleted_resource() -> None:
    clock = [0.0]
    schedule = ResyncSchedule(60, lambda: clock[0])
    schedule.done("uid")
    assert not schedule.due("uid")
    # kopf's decorator types the handler as taking all of kopf's arguments.
    handler: Any = forget_platform_ingress
    await handler(
        body=kopf.Body({"metadata": {"uid": "uid"}}),
        memo=kopf.Memo(ingress_resync=schedule),
    )
    assert schedule.due("uid")
