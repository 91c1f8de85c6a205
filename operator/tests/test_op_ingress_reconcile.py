"""Reconciling PlatformIngress resources against a faithful fake Kubernetes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import kopf
import pytest
from optest.ingress_checks import platform_ingress_problems
from optest.ingress_harness import (
    NAMESPACE,
    IngressHarness,
    load_resource,
    operator_settings,
)
from optest.ingress_kube import IngressKubernetes, ingress_kubernetes
from rsp_operator.config import IngressFlavour
from rsp_operator.handlers.platformingress import on_platform_ingress
from rsp_operator.ingress.objects import SPEC_HASH_ANNOTATION

GATEWAY_API = "gateway.networking.k8s.io"
ENVOY = "gateway.envoyproxy.io"


@pytest.fixture
async def harness() -> AsyncIterator[IngressHarness]:
    with ingress_kubernetes() as kube:
        harness = IngressHarness(kube, operator_settings())
        yield harness
        await harness.close()


def _names(kube: IngressKubernetes, kind: str) -> list[str]:
    return sorted(kube.objects(kind, NAMESPACE))


async def test_create_then_nothing_to_do(harness: IngressHarness) -> None:
    kube = harness.kube
    await harness.apply(load_resource("tap"))
    kube.clear_calls()

    status = await harness.reconcile("tap")

    assert _names(kube, "Ingress") == ["tap", "tap-anonymous"]
    assert kube.writes() == [
        "create_namespaced_ingress",
        "create_namespaced_ingress",
        "patch_namespaced_custom_object_status",
    ]
    assert kube.event_reasons(NAMESPACE) == ["Reconciled"]
    (ready,) = status["conditions"]
    assert ready["type"] == "Ready"
    assert ready["status"] == "True"
    assert ready["reason"] == "Reconciled"
    assert ready["observedGeneration"] == 1
    assert status["observedGeneration"] == 1
    assert status["objects"] == [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "tap"},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "name": "tap-anonymous",
        },
    ]
    stored = await harness.get("tap")
    assert platform_ingress_problems(stored) == []

    # A second reconciliation (a resume after a restart) writes nothing at
    # all: no object, no event, no status.
    kube.clear_calls()
    assert await harness.reconcile("tap") == {}
    assert kube.writes(events=True) == []
    assert kube.calls  # it did look


async def test_update_removing_anonymous_paths_deletes_their_ingress(
    harness: IngressHarness,
) -> None:
    kube = harness.kube
    body = load_resource("tap")
    await harness.apply(body)
    await harness.reconcile("tap")
    before = kube.objects("Ingress", NAMESPACE)["tap"]
    since = (await harness.get("tap"))["status"]["conditions"][0]["lastTransitionTime"]

    changed = copy.deepcopy(body)
    del changed["spec"]["anonymousPaths"]
    changed["spec"]["scopes"] = ["read:tap", "read:image"]
    changed["spec"]["satisfy"] = "any"
    await harness.apply(changed)
    kube.clear_calls()
    status = await harness.reconcile("tap")

    assert _names(kube, "Ingress") == ["tap"]
    assert sorted(kube.writes()) == [
        "delete_namespaced_ingress",
        "patch_namespaced_custom_object_status",
        "replace_namespaced_ingress",
    ]
    after = kube.objects("Ingress", NAMESPACE)["tap"]
    assert (
        after.metadata.annotations[SPEC_HASH_ANNOTATION]
        != (before.metadata.annotations[SPEC_HASH_ANNOTATION])
    )
    auth_url = after.metadata.annotations["nginx.ingress.kubernetes.io/auth-url"]
    assert "scope=read:tap&scope=read:image&satisfy=any" in auth_url
    assert status["observedGeneration"] == 2
    assert [o["name"] for o in status["objects"]] == ["tap"]
    # Still Ready: the condition keeps the time it became so.
    assert "conditions" in status
    assert status["conditions"][0]["lastTransitionTime"] == since

    # Adding one back creates it again.
    await harness.apply(body)
    kube.clear_calls()
    await harness.reconcile("tap")
    assert _names(kube, "Ingress") == ["tap", "tap-anonymous"]


async def test_flavour_switch_replaces_ingresses_with_gateway_api(
    harness: IngressHarness,
) -> None:
    kube = harness.kube
    await harness.apply(load_resource("tap"))
    await harness.reconcile("tap")
    assert _names(kube, "Ingress") == ["tap", "tap-anonymous"]

    harness.settings = operator_settings(ingress_flavour=IngressFlavour.GATEWAY_API)
    kube.clear_calls()
    status = await harness.reconcile("tap")

    assert _names(kube, "Ingress") == []
    assert _names(kube, "HTTPRoute") == ["tap", "tap-anonymous"]
    assert _names(kube, "SecurityPolicy") == ["tap", "tap-anonymous"]
    assert sorted(set(kube.writes())) == [
        "create_namespaced_custom_object",
        "delete_namespaced_ingress",
        "patch_namespaced_custom_object_status",
    ]
    assert [o["kind"] for o in status["objects"]] == [
        "HTTPRoute",
        "SecurityPolicy",
        "HTTPRoute",
        "SecurityPolicy",
    ]
    assert status["conditions"][0]["status"] == "True"
    assert "gateway-api" in status["conditions"][0]["message"]

    kube.clear_calls()
    assert await harness.reconcile("tap") == {}
    assert kube.writes(events=True) == []

    # And back: the Gateway API objects go, the Ingresses return.
    harness.settings = operator_settings()
    await harness.reconcile("tap")
    assert _names(kube, "HTTPRoute") == []
    assert _names(kube, "SecurityPolicy") == []
    assert _names(kube, "Ingress") == ["tap", "tap-anonymous"]


async def test_malformed_resource_is_a_permanent_error(harness: IngressHarness) -> None:
    """A resource the CRD lets through but the route rules refuse."""
    kube = harness.kube
    body = load_resource("tap")
    body["spec"]["scopes"] = ["read:tap", "exec:everything"]
    del body["spec"]["delegateTo"]
    assert platform_ingress_problems(body) == []
    await harness.apply(body)
    kube.clear_calls()

    with pytest.raises(kopf.PermanentError) as excinfo:
        await harness.reconcile("tap")

    message = str(excinfo.value)
    assert "unknown scopes exec:everything" in message
    assert "delegate_scopes without delegate_to" in message
    stored = await harness.get("tap")
    (ready,) = stored["status"]["conditions"]
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert ready["message"] == message
    assert stored["status"]["observedGeneration"] == 1
    assert kube.writes() == ["patch_namespaced_custom_object_status"]
    assert kube.event_reasons(NAMESPACE) == ["InvalidSpec"]

    # Fixing the resource makes it Ready; its objects appear.
    await harness.apply(load_resource("tap"))
    status = await harness.reconcile("tap")
    assert status["conditions"][0]["status"] == "True"
    assert status["observedGeneration"] == 2
    assert _names(kube, "Ingress") == ["tap", "tap-anonymous"]


async def test_malformed_after_ready_keeps_objects_and_says_why(
    harness: IngressHarness,
) -> None:
    await harness.apply(load_resource("nublado-hub"))
    await harness.reconcile("nublado-hub")
    body = load_resource("nublado-hub")
    body["spec"]["delegateTo"] = "nublado"
    await harness.apply(body)
    with pytest.raises(kopf.PermanentError, match="notebook and delegate_to"):
        await harness.reconcile("nublado-hub")
    stored = await harness.get("nublado-hub")
    assert stored["status"]["conditions"][0]["status"] == "False"
    # What was made for the last good spec stays, and is still listed.
    assert [o["name"] for o in stored["status"]["objects"]] == ["nublado-hub"]
    assert _names(harness.kube, "Ingress") == ["nublado-hub"]


async def test_name_held_by_another_object_is_retried(harness: IngressHarness) -> None:
    kube = harness.kube
    other = load_resource("tap")
    other["metadata"]["name"] = "tap-anonymous"
    other["metadata"]["uid"] = "11111111-1111-4111-8111-111111111111"
    del other["spec"]["anonymousPaths"]
    await harness.apply(other)
    await harness.reconcile("tap-anonymous")
    await harness.apply(load_resource("tap"))

    with pytest.raises(kopf.TemporaryError) as excinfo:
        await harness.reconcile("tap")

    assert "Ingress/tap-anonymous already exists" in str(excinfo.value)
    assert excinfo.value.delay == 60.0
    stored = await harness.get("tap")
    assert stored["status"]["conditions"][0]["reason"] == "NameConflict"
    # The other resource's Ingress is untouched.
    ingress = kube.objects("Ingress", NAMESPACE)["tap-anonymous"]
    assert ingress.metadata.owner_references[0].uid == other["metadata"]["uid"]


async def test_gateway_api_not_installed_is_retried(harness: IngressHarness) -> None:
    harness.settings = operator_settings(ingress_flavour=IngressFlavour.GATEWAY_API)
    harness.kube.missing_groups = {GATEWAY_API, ENVOY}
    await harness.apply(load_resource("gateway-api"))

    with pytest.raises(kopf.TemporaryError) as excinfo:
        await harness.reconcile("gateway-api")

    assert "the cluster serves no HTTPRoute" in str(excinfo.value)
    stored = await harness.get("gateway-api")
    assert stored["status"]["conditions"][0]["reason"] == "KubernetesError"


async def test_kinds_of_the_other_flavour_need_no_permission(
    harness: IngressHarness,
) -> None:
    """An ingress-nginx cluster need not let the operator list Gateway API kinds."""
    harness.kube.forbidden_groups = {GATEWAY_API, ENVOY}
    await harness.apply(load_resource("tap"))
    status = await harness.reconcile("tap")
    assert status["conditions"][0]["status"] == "True"

    # But the current flavour's kinds must be allowed, and saying so is clear.
    harness.settings = operator_settings(ingress_flavour=IngressFlavour.GATEWAY_API)
    with pytest.raises(kopf.TemporaryError, match="cannot list HTTPRoute: 403"):
        await harness.reconcile("tap")


def test_handlers_are_registered_for_create_update_resume() -> None:
    registry = kopf.get_default_registry()
    handlers = [
        h for h in registry._changing.get_all_handlers() if h.fn is on_platform_ingress
    ]
    for handler in handlers:
        assert handler.selector is not None
        assert handler.selector.group == "science-platform.dev"
        assert handler.selector.plural == "platformingresses"
        assert not handler.requires_finalizer
    reasons = {str(h.reason) for h in handlers if h.reason is not None}
    assert reasons == {"create", "update"}
    assert [h for h in handlers if h.reason is None and h.initial]  # resume
