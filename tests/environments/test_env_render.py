"""Every environment renders with the real Helm engine into valid, compliant objects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from rsp_platform.environments.checks import (
    install_order_problems,
    route_problems,
    secret_problems,
)
from rsp_platform.environments.netpol import policy_admits, selector_matches
from rsp_platform.environments.umbrella import UmbrellaChart

from tests.charts.golden import compare_golden
from tests.charts.kubeschema import assert_valid, is_builtin
from tests.charts.policy import assert_policy, pod_specs
from tests.environments.support import (
    ENVIRONMENTS,
    LAYOUT,
    custom_resource_validator,
    rendered,
)

pytestmark = pytest.mark.helm

GOLDEN_DIR = Path(__file__).parent / "golden"
"""Golden files of the environments (``UPDATE_GOLDEN=1`` rewrites them)."""

GKE = ["idfprod", "idfint", "idfdev"]


def test_every_environment_is_there() -> None:
    assert ENVIRONMENTS == ["idfdev", "idfint", "idfprod", "local"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_objects_are_valid_kubernetes_and_custom_resources(name: str) -> None:
    render = rendered(name)
    report = assert_valid(
        render.objects, custom_resources=custom_resource_validator(render)
    )
    assert report.skipped == []
    assert len(report.validated) == len(render.objects)
    custom = {o["kind"] for o in render.objects if not is_builtin(o)}
    assert "PlatformIngress" in custom
    if name in GKE:
        assert {"ExternalSecret", "ClusterSecretStore", "Certificate"} <= custom


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_objects_meet_the_policy(name: str) -> None:
    render = rendered(name)
    assert_policy(render.objects, namespace="science-platform")
    assert list(route_problems(render.objects)) == []
    assert list(secret_problems({}, render.objects)) == []
    assert list(install_order_problems(render.objects, "science-platform")) == []


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_namespace_with_pods_has_a_network_policy(name: str) -> None:
    render = rendered(name)
    with_pods = {
        site.obj["metadata"].get("namespace", "science-platform")
        for site in pod_specs(render.objects)
    }
    with_policy = {
        o["metadata"].get("namespace", "science-platform")
        for o in render.of_kind("NetworkPolicy")
    }
    assert with_pods, "the environment runs nothing"
    assert with_pods <= with_policy
    created = {o["metadata"]["name"] for o in render.of_kind("Namespace")}
    assert created - {"science-platform"} <= with_policy


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_images_are_pinned_to_the_environment(name: str) -> None:
    render = rendered(name)
    values = LAYOUT.environment(name).values["global"]
    images = [
        c["image"]
        for site in pod_specs(render.objects)
        for c in [
            *site.spec.get("containers", []),
            *site.spec.get("initContainers", []),
        ]
    ]
    ours = [i for i in images if "configurable-http-proxy" not in i]
    assert ours
    for image in ours:
        assert not image.endswith(":latest")
        if values.get("imageRegistry"):
            assert image.startswith(values["imageRegistry"] + "/"), image
        if values.get("imageTag"):
            assert image.endswith(":" + values["imageTag"]), image


@pytest.mark.parametrize("name", GKE)
def test_gke_environments_use_google_cloud(name: str) -> None:
    render = rendered(name)
    objects = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in render.objects
    }
    # Secrets from Secret Manager: one ExternalSecret per Secret a chart reads.
    secrets = {
        (o["metadata"]["namespace"], o["spec"]["target"]["name"])
        for o in render.of_kind("ExternalSecret")
    }
    assert secrets == {
        ("gateway", "gateway"),
        ("nublado", "notebooks-secrets"),
        ("tap", "tap"),
        ("butler", "butler"),
        ("science-platform", "rsp-operator"),
    }
    (store,) = render.of_kind("ClusterSecretStore")
    assert (
        store["spec"]["provider"]["gcpsm"]["projectID"]
        == f"science-platform-{name[3:]}"
    )
    # One certificate for the environment's host, ingress-nginx's default
    # (more in test_env_ingress.py).
    (certificate,) = render.of_kind("Certificate")
    assert certificate["metadata"]["namespace"] == "ingress-nginx"
    host = LAYOUT.environment(name).values["global"]["host"]
    assert certificate["spec"]["dnsNames"] == [host]
    # TAP's result bucket through Workload Identity; the Butler datastore
    # through the S3 API (presigned URLs), with an HMAC key from the store.
    project = f"science-platform-{name[3:]}"
    account = objects[("ServiceAccount", "tap", "tap")]
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email == f"tap@{project}.iam.gserviceaccount.com"
    butler_keys = {
        d["secretKey"]
        for d in objects[("ExternalSecret", "butler", "butler")]["spec"]["data"]
    }
    assert butler_keys == {
        "s3-access-key-id",
        "s3-secret-access-key",
        "database-password",
    }
    # Homes on Filestore.
    (storage_class,) = render.of_kind("StorageClass")
    assert storage_class["provisioner"] == "filestore.csi.storage.gke.io"
    hub = objects[("ConfigMap", "nublado", "nublado-hub")]["data"]["notebooks.yaml"]
    assert (
        yaml.safe_load(hub)["home_storage_class"] == storage_class["metadata"]["name"]
    )


def test_local_environment_uses_the_embedded_defaults() -> None:
    render = rendered("local")
    kinds = Counter(o["kind"] for o in render.objects)
    assert kinds["ExternalSecret"] == kinds["Certificate"] == kinds["StorageClass"] == 0
    assert kinds["ClusterSecretStore"] == 0
    assert LAYOUT.environment("local").values == {
        "global": {
            "host": "localhost",
            "baseUrl": "http://localhost",
            "environment": "local",
        }
    }


def test_idfprod_renders_in_under_two_seconds() -> None:
    umbrella = UmbrellaChart(LAYOUT)
    values = LAYOUT.environment("idfprod").values
    for _ in range(2):  # the first may also load Helm's library
        render = umbrella.render(values)
        assert render.seconds < 2.0, f"rendering idfprod took {render.seconds:.2f} s"


# Production and the embedded defaults; idfint and idfdev differ from
# idfprod only in values that the other tests check.
@pytest.mark.parametrize("name", ["idfprod", "local"])
def test_environment_matches_golden_file(name: str) -> None:
    compare_golden(name, rendered(name).objects, directory=GOLDEN_DIR)


def _hook_weight(obj: dict[str, Any]) -> int | None:
    annotations = obj["metadata"].get("annotations") or {}
    if "pre-install" not in annotations.get("helm.sh/hook", ""):
        return None
    return int(annotations.get("helm.sh/hook-weight", "0"))


@pytest.mark.parametrize("name", GKE)
def test_first_install_hooks_find_what_they_need(name: str) -> None:
    """Pre-install hooks run before any ordinary object exists: a migration
    Job's namespace, its Secret's ExternalSecret and that one's store must
    all be earlier hooks, or the first install waits for ever."""
    render = rendered(name)
    hooks = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): w
        for o in render.objects
        if (w := _hook_weight(o)) is not None
    }
    jobs = [o for o in render.of_kind("Job") if _hook_weight(o) is not None]
    assert {j["metadata"]["namespace"] for j in jobs} == {"gateway", "tap"}
    for job in jobs:
        namespace = job["metadata"]["namespace"]
        weight = hooks[("Job", namespace, job["metadata"]["name"])]
        assert hooks[("Namespace", None, namespace)] < weight
        secrets = {
            var["valueFrom"]["secretKeyRef"]["name"]
            for container in job["spec"]["template"]["spec"]["containers"]
            for var in container.get("env", [])
            if "secretKeyRef" in var.get("valueFrom", {})
        }
        assert secrets
        for secret in secrets:
            external = hooks[("ExternalSecret", namespace, secret)]
            assert hooks[("Namespace", None, namespace)] < external < weight
            assert hooks[("ClusterSecretStore", None, "science-platform")] < external


def _pods(render: Any, namespace: str, name: str) -> dict[str, str]:
    (site,) = [
        s
        for s in pod_specs(render.objects)
        if s.obj["metadata"]["namespace"] == namespace
        and s.obj["metadata"]["name"] == name
    ]
    return site.labels


# Calls between services inside the cluster: (namespace, workload) of the
# caller and of the callee.
CALLS = [
    (("nublado", "nublado-hub"), ("gateway", "gateway")),
    (("nublado", "nublado-hub"), ("repertoire", "repertoire")),
    (("butler", "butler"), ("gateway", "gateway")),
    (("science-platform", "operator"), ("gateway", "gateway")),
]


@pytest.mark.parametrize("name", ENVIRONMENTS)
@pytest.mark.parametrize(("caller", "callee"), CALLS, ids="/".join)
def test_network_policies_let_services_call_each_other(
    name: str, caller: tuple[str, str], callee: tuple[str, str]
) -> None:
    render = rendered(name)
    source, target = _pods(render, *caller), _pods(render, *callee)
    policies = render.of_kind("NetworkPolicy")
    egress = [
        p
        for p in policies
        if p["metadata"]["namespace"] == caller[0]
        and selector_matches(p["spec"]["podSelector"], source)
        and "Egress" in p["spec"].get("policyTypes", [])
    ]
    ingress = [
        p
        for p in policies
        if p["metadata"]["namespace"] == callee[0]
        and selector_matches(p["spec"]["podSelector"], target)
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    assert egress, f"no egress policy selects {caller}"
    assert ingress, f"no ingress policy selects {callee}"
    assert any(policy_admits(p, "egress", callee[0], target) for p in egress)
    assert any(policy_admits(p, "ingress", caller[0], source) for p in ingress)
