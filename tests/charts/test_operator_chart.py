"""The operator chart, rendered by the real Helm engine and checked every way.

Two renders: the chart's defaults (the whole cluster, ingress-nginx) and
production-like values (three namespaces, Gateway API). Schemas, golden
files, policy, lint and secret values are checked for every service chart
alike (``test_service_charts.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from rsp_operator.config import IngressFlavour, load_operator_settings
from rsp_operator.ingress.render import check_ingress_settings

from tests.charts.rendering import RenderedChart
from tests.charts.service_charts import OPERATOR
from tests.charts.workloads import container, render_fixtures, stage_pod_config

pytestmark = pytest.mark.helm

NAMESPACE = OPERATOR.namespace
RULE_KINDS = ("ClusterRole", "Role")
EXPECTED_RULES = {
    ("science-platform.dev", "platformingresses"): {"get", "list", "watch", "patch"},
    ("science-platform.dev", "servicetokens"): {"get", "list", "watch", "patch"},
    ("science-platform.dev", "platformingresses/status"): {"get", "patch"},
    ("science-platform.dev", "servicetokens/status"): {"get", "patch"},
    ("", "secrets"): {"get", "create", "update", "patch", "delete"},
    ("", "events"): {"create"},
    ("networking.k8s.io", "ingresses"): {
        "get",
        "list",
        "create",
        "update",
        "patch",
        "delete",
    },
    ("gateway.networking.k8s.io", "httproutes"): {
        "get",
        "list",
        "create",
        "update",
        "patch",
        "delete",
    },
    ("gateway.envoyproxy.io", "securitypolicies"): {
        "get",
        "list",
        "create",
        "update",
        "patch",
        "delete",
    },
}


rendered = render_fixtures(OPERATOR).rendered


def _rules(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def test_rbac_is_the_least_the_operator_needs(rendered: RenderedChart) -> None:
    roles = [o for o in rendered.objects if o["kind"] in RULE_KINDS]
    assert roles
    for role in roles:
        assert _rules(role) == EXPECTED_RULES
        text = repr(role["rules"])
        assert "*" not in text
        # No peering (kopf runs --standalone) and no CRD or namespace access.
        assert "kopf.dev" not in text
        assert "customresourcedefinitions" not in text
        assert "namespaces" not in text


def test_default_watches_cluster_with_cluster_role() -> None:
    default = OPERATOR.render("default")
    assert [o["kind"] for o in default.objects if "Role" in o["kind"]] == [
        "ClusterRole",
        "ClusterRoleBinding",
    ]
    binding = default.get("ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "operator", "namespace": NAMESPACE}
    ]


def test_namespaces_narrow_rbac_to_roles() -> None:
    prod = OPERATOR.render("prod")
    assert not prod.of_kind("ClusterRole")
    assert not prod.of_kind("ClusterRoleBinding")
    assert sorted(r["metadata"]["namespace"] for r in prod.of_kind("Role")) == [
        "gateway",
        "notebooks",
        "tap",
    ]
    for binding in prod.of_kind("RoleBinding"):
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"][0]["namespace"] == NAMESPACE


def test_runs_standalone_with_liveness(rendered: RenderedChart) -> None:
    deployment = rendered.get("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    main = container(deployment)
    assert main["command"] == ["rsp-operator"]
    assert main["args"] == [
        "run",
        "--standalone",
        "--liveness=http://0.0.0.0:8080/healthz",
    ]
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True


def test_admin_token_only_from_secret(rendered: RenderedChart) -> None:
    env = container(rendered.get("Deployment"))["env"]
    (token,) = [v for v in env if v["name"] == "RSP_OPERATOR_ADMIN_TOKEN"]
    assert set(token) == {"name", "valueFrom"}
    assert "secretKeyRef" in token["valueFrom"]
    assert not rendered.of_kind("Secret")


def test_without_admin_token() -> None:
    rendered = OPERATOR.render(values={"adminToken": {"enabled": False}})
    env = container(rendered.get("Deployment"))["env"]
    assert [v["name"] for v in env] == ["RSP_OPERATOR_CONFIG_PATH"]


@pytest.mark.parametrize("variant", OPERATOR.names)
def test_settings_load_as_the_pod_sees_them(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = OPERATOR.render(variant)
    secret_ref = container(rendered.get("Deployment"))["env"][1]["valueFrom"]
    secret = secret_ref["secretKeyRef"]
    admin = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
    stage_pod_config(
        rendered,
        ("Deployment", "operator"),
        secret=(secret["name"], {secret["key"]: admin}),
        env_prefix="RSP_OPERATOR_",
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    settings = load_operator_settings()
    # What `rsp-operator run` checks before it starts kopf.
    check_ingress_settings(settings)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == admin
    assert str(settings.gateway_url).rstrip("/") == (
        "http://gateway.gateway.svc.cluster.local:8080"
    )
    if variant == "prod":
        assert settings.host == "data.lsst.cloud"
        assert settings.external_url == "https://data.lsst.cloud"
        assert settings.ingress_flavour is IngressFlavour.GATEWAY_API
        assert settings.gateway_api.section_name == "https"
        assert settings.namespaces == ["gateway", "tap", "notebooks"]
        assert settings.token_check_interval.total_seconds() == 300
        assert settings.resync_seconds == 120
    else:
        assert settings.namespaces == []
        assert settings.token_check_interval.total_seconds() == 600
        assert settings.resync_seconds == 300
    assert settings.log_json is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"config": {"ingressFlavour": "traefik"}}, "ingressFlavour"),
        ({"config": {"tokenCheckInterval": "10 minutes"}}, "tokenCheckInterval"),
        ({"config": {"resyncSeconds": 0}}, "resyncSeconds"),
        ({"adminToken": {"value": "gt-x"}}, "value"),
        ({"image": {"tag": "latest"}}, "tag"),
    ],
)
def test_schema_refuses_bad_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=message):
        OPERATOR.render(values=values)


@pytest.mark.parametrize(
    ("values", "flavour"),
    [
        ({}, "nginx"),
        ({"config": {"ingressFlavour": "gateway-api"}}, "gateway-api"),
        ({"global": {"ingressFlavour": "gateway-api"}}, "gateway-api"),
        (
            {
                "global": {"ingressFlavour": "nginx"},
                "config": {"ingressFlavour": "gateway-api"},
            },
            "nginx",
        ),
    ],
)
def test_environment_flavour_wins_over_the_charts(
    values: dict[str, Any], flavour: str
) -> None:
    """global.ingressFlavour, the environment's one switch, wins where set."""
    (config,) = OPERATOR.render(values=values).of_kind("ConfigMap")
    (settings,) = config["data"].values()
    assert yaml.safe_load(settings)["ingress_flavour"] == flavour
