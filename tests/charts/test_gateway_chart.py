"""The gateway chart, rendered by the real Helm engine and checked every way.

Two renders are tested throughout: the chart's defaults (a local install)
and production-like values (data.lsst.cloud with GitHub, PostgreSQL and
Redis). Schemas, golden files, policy, lint and secret values are checked
for every service chart alike (``test_service_charts.py``), the chart
conventions for every chart (``test_all_charts.py``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click
import helm_python as helm
import pytest
import yaml
from rsp_gateway.cli import main as gateway_cli
from rsp_gateway.config import DEFAULT_SCOPES, Config, GitHubConfig, load_config
from rsp_gateway.handlers.health import HEALTH_PATH
from rsp_platform.routes import ROUTE_TABLE
from uvicorn.main import main as uvicorn_cli

from tests.charts.gateway_values import (
    CHART,
    GATEWAY,
    PROD_VALUES,
    SECRET_KEYS,
    dummy_secret,
)
from tests.charts.kubeschema import assert_valid
from tests.charts.platform_ingress import platform_ingresses, spec_by_path
from tests.charts.rendering import REPO_ROOT, RenderedChart, load_values, render_chart
from tests.charts.workloads import (
    container,
    pod_spec,
    render_fixtures,
    stage_pod_config,
)

pytestmark = pytest.mark.helm

NAMESPACE = GATEWAY.namespace
GATEWAY_PROJECT = REPO_ROOT / "services" / "gateway"
_render = GATEWAY.render
rendered, prod, default = render_fixtures(GATEWAY)


# The objects


def test_objects_rendered(rendered: RenderedChart) -> None:
    assert rendered.names() == [
        "ConfigMap/gateway",
        "ConfigMap/gateway-migrate",
        "CronJob/gateway-maintenance",
        "Deployment/gateway",
        "Job/gateway-migrate",
        "NetworkPolicy/gateway",
        "PlatformIngress/gateway-api",
        "PlatformIngress/gateway-auth",
        "PlatformIngress/gateway-login",
        "PlatformIngress/gateway-logout",
        "PlatformIngress/gateway-tokens",
        "PodDisruptionBudget/gateway",
        "Service/gateway",
        "ServiceAccount/gateway",
    ]
    assert {o["metadata"]["namespace"] for o in rendered.objects} == {NAMESPACE}


# values.schema.json


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicas": 3}, "replicas"),
        ({"config": {"sessionLifetme": "P1D"}}, "sessionLifetme"),
        ({"database": {"password": "hunter2"}}, "password"),
        ({"github": {"clientSecret": "abc"}}, "clientSecret"),
        ({"secrets": {"sessionSecret": "abc"}}, "sessionSecret"),
        ({"ingress": {"tls": {"crt": "x"}}}, "crt"),
        ({"global": {"unknown": 1}}, "unknown"),
    ],
)
def test_schema_refuses_unknown_keys(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=complaint):
        _render("default", values)
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(values)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"replicaCount": "three"}, "replicaCount"),
        ({"workers": 0}, "workers"),
        ({"config": {"devLogin": "yes"}}, "devLogin"),
        ({"config": {"sessionLifetime": "7 days"}}, "sessionLifetime"),
        ({"config": {"logLevel": "LOUD"}}, "logLevel"),
        ({"image": {"tag": "latest"}}, "tag"),
        ({"database": {"port": 70000}}, "port"),
        ({"redis": {"checkHostname": "no"}}, "checkHostname"),
        ({"redis": {"caFromSecret": "yes"}}, "caFromSecret"),
        ({"securityContext": {"runAsUser": 0, "runAsGroup": 1000}}, "runAsUser"),
        ({"resources": {"limits": {"memory": "lots"}}}, "memory"),
        ({"networkPolicy": {"databaseCidrs": ["everywhere"]}}, "databaseCidrs"),
    ],
)
def test_schema_refuses_wrong_values(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        _render("default", values)


# Configuration: the ConfigMap loads into the gateway's own Config


def _load_rendered_config(
    rendered: RenderedChart,
    kind: str,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secret: dict[str, str],
) -> tuple[Config, dict[str, str]]:
    """Start the config loader on what a pod of this workload would see."""
    env = stage_pod_config(
        rendered,
        (kind, name),
        secret=("gateway", secret),
        env_prefix="RSP_GATEWAY_",
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    return load_config(), env


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Deployment", "gateway"),
        ("Job", "gateway-migrate"),
        ("CronJob", "gateway-maintenance"),
    ],
)
def test_configmap_loads_into_gateway_config(
    rendered: RenderedChart,
    kind: str,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = dummy_secret()
    config, _ = _load_rendered_config(
        rendered, kind, name, tmp_path, monkeypatch, secret
    )
    assert config.session_secret.get_secret_value() == secret["session-secret"]
    assert config.token_hash_key.get_secret_value() == secret["token-hash-key"]
    database_url = config.database_url.get_secret_value()
    assert database_url.startswith("postgresql+asyncpg://gateway:")
    assert f":{secret['database-password']}@" in database_url


def test_prod_config_is_what_values_say(
    prod: RenderedChart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = dummy_secret()
    config, _ = _load_rendered_config(
        prod, "Deployment", "gateway", tmp_path, monkeypatch, secret
    )
    values = load_values(PROD_VALUES)
    assert config.environment == "idfprod"
    assert config.origin == "https://data.lsst.cloud"
    assert config.dev_login is False
    assert config.database_pool_size == 10
    assert config.group_mapping == values["config"]["groupMapping"]
    assert config.session_lifetime.days == 14
    assert config.trusted_proxies == ["10.0.0.0/8"]
    assert config.github is not None
    assert config.github.client_id == values["github"]["clientId"]
    assert (
        config.github.client_secret.get_secret_value() == secret["github-client-secret"]
    )
    assert config.redis_url is not None
    assert config.redis_url.get_secret_value() == (
        f"rediss://:{secret['redis-password']}@10.88.1.4:6378/0"
    )
    assert config.redis_ca_file is not None
    assert config.redis_ca_file.read_text() == secret["redis-ca"]
    assert config.redis_tls_check_hostname is False
    assert config.database_url.get_secret_value() == (
        f"postgresql+asyncpg://gateway:{secret['database-password']}@10.88.0.3:5432/gateway"
    )
    assert config.bootstrap_token is not None
    assert config.bootstrap_token.get_secret_value() == secret["bootstrap-token"]


def test_default_config_is_local_with_dev_login(
    default: RenderedChart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, env = _load_rendered_config(
        default, "Deployment", "gateway", tmp_path, monkeypatch, dummy_secret()
    )
    assert (config.environment, config.dev_login, config.github) == (
        "local",
        True,
        None,
    )
    assert config.origin == "http://localhost"
    assert config.redis_url is None
    assert config.bootstrap_token is None
    assert not {"RSP_GATEWAY_REDIS_URL", "RSP_GATEWAY_GITHUB__CLIENT_SECRET"} & set(env)


def test_chart_sets_every_config_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = {
        "config": {"knownScopes": DEFAULT_SCOPES},
        "github": {
            "authorizeUrl": "https://github.example.com/login/oauth/authorize",
            "tokenUrl": "https://github.example.com/login/oauth/access_token",
            "apiUrl": "https://github.example.com/api/v3",
        },
    }
    rendered = _render("prod", everything)
    config, env = _load_rendered_config(
        rendered, "Deployment", "gateway", tmp_path, monkeypatch, dummy_secret()
    )
    data = yaml.safe_load(rendered.get("ConfigMap", "gateway")["data"]["gateway.yaml"])
    top_level = {
        name.removeprefix("RSP_GATEWAY_").lower()
        for name in env
        if name.startswith("RSP_GATEWAY_")
        and "__" not in name
        and name != "RSP_GATEWAY_CONFIG_PATH"
    }
    assert set(data) | top_level == set(Config.model_fields)
    assert not set(data) & top_level
    assert set(data["github"]) | {"client_secret"} == set(GitHubConfig.model_fields)
    assert config.github is not None
    assert str(config.github.api_url) == "https://github.example.com/api/v3"


def test_migration_config_is_the_server_config(rendered: RenderedChart) -> None:
    server = rendered.get("ConfigMap", "gateway")["data"]
    migrate = rendered.get("ConfigMap", "gateway-migrate")["data"]
    assert migrate == server


def test_config_change_rolls_the_deployment(default: RenderedChart) -> None:
    changed = _render("default", {"config": {"logLevel": "DEBUG"}})

    def checksum(r: RenderedChart) -> str:
        annotations = r.get("Deployment")["spec"]["template"]["metadata"]["annotations"]
        value: str = annotations["checksum/config"]
        return value

    assert checksum(changed) != checksum(default)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (
            {"config": {"environment": "idfprod"}},
            "devLogin is allowed only in the local",
        ),
        (
            {"global": {"environment": "idfdev"}},
            "devLogin is allowed only in the local",
        ),
        ({"config": {"devLogin": False}}, "no login method"),
        ({"config": {"devLogin": False}, "github": {"enabled": True}}, "clientId"),
        ({"redis": {"enabled": True, "host": ""}}, "redis.host"),
        (
            {"redis": {"enabled": True, "caFromSecret": True}},
            "redis.caFromSecret needs redis.tls",
        ),
        (
            {"global": {"ingressFlavour": "gateway-api"}},
            "referenceGrant.fromNamespaces: name the namespaces",
        ),
    ],
)
def test_inconsistent_values_fail_to_render(
    values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=complaint):
        _render("default", values)


# Secrets: only by reference


def test_secrets_only_from_the_named_secret(prod: RenderedChart) -> None:
    keys: set[str] = set()
    for kind in ("Deployment", "Job", "CronJob"):
        for var in container(prod.of_kind(kind)[0])["env"]:
            if "valueFrom" in var:
                ref = var["valueFrom"]["secretKeyRef"]
                assert ref["name"] == "gateway"
                keys.add(ref["key"])
            else:
                assert set(var) == {"name", "value"}
    assert keys == SECRET_KEYS - {"database-url", "redis-ca"}


# Redis's CA: a key of the Secret, mounted as a file


REDIS_CA_DIR = "/etc/rsp-gateway-redis"


def _redis_ca_volumes(rendered: RenderedChart) -> list[tuple[Any, Any]]:
    """(volume, mount) of the redis-ca volume in each workload, if any."""
    found = []
    for kind in ("Deployment", "Job", "CronJob"):
        obj = rendered.of_kind(kind)[0]
        volumes = [v for v in pod_spec(obj)["volumes"] if v["name"] == "redis-ca"]
        mounts = [m for m in container(obj)["volumeMounts"] if m["name"] == "redis-ca"]
        found.append((volumes[0] if volumes else None, mounts[0] if mounts else None))
    return found


def test_redis_ca_is_mounted_read_only_from_the_secret(prod: RenderedChart) -> None:
    for volume, mount in _redis_ca_volumes(prod):
        assert volume == {
            "name": "redis-ca",
            "secret": {
                "secretName": "gateway",
                "items": [{"key": "redis-ca", "path": "ca.pem"}],
            },
        }
        assert mount == {
            "name": "redis-ca",
            "mountPath": REDIS_CA_DIR,
            "readOnly": True,
        }
    data = yaml.safe_load(prod.get("ConfigMap", "gateway")["data"]["gateway.yaml"])
    assert data["redis_ca_file"] == f"{REDIS_CA_DIR}/ca.pem"
    assert data["redis_tls_check_hostname"] is False


def test_no_redis_ca_without_the_value(default: RenderedChart) -> None:
    plain = _render("prod", {"redis": {"caFromSecret": False, "checkHostname": True}})
    for rendered in (default, plain):
        assert _redis_ca_volumes(rendered) == [(None, None)] * 3
    data = yaml.safe_load(plain.get("ConfigMap", "gateway")["data"]["gateway.yaml"])
    assert "redis_ca_file" not in data
    assert data["redis_tls_check_hostname"] is True


def _external_secret_keys(values: dict[str, Any]) -> dict[str, str]:
    rendered = _render("prod", {"externalSecret": {"enabled": True}, **values})
    (external,) = rendered.of_kind("ExternalSecret")
    return {d["secretKey"]: d["remoteRef"]["key"] for d in external["spec"]["data"]}


def test_external_secret_brings_the_redis_ca() -> None:
    keys = _external_secret_keys({})
    assert keys["redis-ca"] == "gateway-redis-ca"
    assert "redis-ca" not in _external_secret_keys({"redis": {"caFromSecret": False}})


def test_database_url_can_come_whole_from_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = _render(
        "prod", {"database": {"urlFromSecret": True}, "secrets": {"name": "gw-secrets"}}
    )
    env = container(rendered.get("Deployment"))["env"]
    names = [v["name"] for v in env]
    assert "DATABASE_PASSWORD" not in names
    (url,) = [v for v in env if v["name"] == "RSP_GATEWAY_DATABASE_URL"]
    assert url["valueFrom"]["secretKeyRef"] == {
        "name": "gw-secrets",
        "key": "database-url",
    }


# Routes: PlatformIngress resources (tests/charts/test_chart_routes.py checks
# them against the route table and the CRD for every chart)


def test_platform_ingresses_route_the_gateway_paths_only(
    rendered: RenderedChart,
) -> None:
    specs = spec_by_path(rendered)
    expected = [r for r in ROUTE_TABLE.for_service("gateway") if not r.internal]
    assert sorted(specs) == sorted(r.path for r in expected)
    assert {"/login", "/logout", "/auth"} <= set(specs)
    for spec in specs.values():
        # The gateway checks credentials itself: no auth subrequest.
        assert spec["access"] == "service"
        assert spec["backend"] == {"service": "gateway", "port": 8080}
        assert not {"scopes", "delegateTo", "loginRedirect"} & set(spec)


def test_auth_subrequest_is_never_routed(rendered: RenderedChart) -> None:
    assert ROUTE_TABLE.route_for("/ingress/auth") is not None
    for spec in spec_by_path(rendered).values():
        assert not spec["path"].startswith("/ingress")
    assert not any("/ingress" in str(o) for o in platform_ingresses(rendered))
    assert rendered.of_kind("Ingress") == []


def test_prod_routes_host_and_tls(prod: RenderedChart) -> None:
    for resource in platform_ingresses(prod):
        assert resource["spec"]["host"] == "data.lsst.cloud"
        assert resource["spec"]["tlsSecretName"] == "data-lsst-cloud-tls"
        assert resource["metadata"]["annotations"] == {
            "cert-manager.io/cluster-issuer": "letsencrypt-dns"
        }


def test_global_values_win(default: RenderedChart) -> None:
    rendered = _render(
        "default",
        {
            "global": {
                "host": "data-int.lsst.cloud",
                "environment": "local",
                "imageRegistry": "us-central1-docker.pkg.dev/sp/images",
                "imageTag": "0.2.0",
            }
        },
    )
    assert {r["spec"]["host"] for r in platform_ingresses(rendered)} == {
        "data-int.lsst.cloud"
    }
    assert container(rendered.get("Deployment"))["image"] == (
        "us-central1-docker.pkg.dev/sp/images/science-platform/gateway:0.2.0"
    )
    pinned = _render(
        "default", {"global": {"imageTag": "0.2.0"}, "image": {"tag": "0.1.9"}}
    )
    assert container(pinned.get("Deployment"))["image"].endswith(":0.1.9")


def test_image_tag_defaults_to_app_version_and_digest_pins(
    default: RenderedChart,
) -> None:
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    for kind in ("Deployment", "Job", "CronJob"):
        image = container(default.of_kind(kind)[0])["image"]
        assert image == f"ghcr.io/science-platform/gateway:{app_version}"
    digest = "sha256:" + "ab" * 32
    pinned = _render("default", {"image": {"digest": digest}})
    assert container(pinned.get("Deployment"))["image"].endswith(f"gateway@{digest}")


def test_service_is_where_the_route_table_says(default: RenderedChart) -> None:
    upstream = ROUTE_TABLE.service("gateway").upstream
    service = default.get("Service")
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == (
        upstream.service,
        upstream.namespace,
    )
    assert service["spec"]["ports"][0]["port"] == upstream.port
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "server"


# Workloads


def test_server_command_is_a_valid_uvicorn_invocation(prod: RenderedChart) -> None:
    server = container(prod.get("Deployment"))
    assert server["command"] == ["uvicorn"]
    args = server["args"]
    assert args[:2] == ["rsp_gateway.main:create_app", "--factory"]
    assert "--workers=2" in args
    assert "--proxy-headers" in args
    context = uvicorn_cli.make_context("uvicorn", list(args))
    assert context.params["factory"] is True
    assert context.params["workers"] == 2
    assert context.params["port"] == 8080
    assert context.params["forwarded_allow_ips"] == "*"


def test_probes_call_the_health_route(rendered: RenderedChart) -> None:
    server = container(rendered.get("Deployment"))
    for probe in ("livenessProbe", "readinessProbe"):
        assert server[probe]["httpGet"] == {"path": HEALTH_PATH, "port": "http"}


def test_jobs_run_the_gateway_cli(rendered: RenderedChart) -> None:
    assert container(rendered.get("Job"))["command"] == ["rsp-gateway", "migrate"]
    cron = rendered.get("CronJob")
    assert container(cron)["command"] == ["rsp-gateway", "maintenance"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def test_jobs_run_commands_the_gateway_cli_has(rendered: RenderedChart) -> None:
    pyproject = tomllib.loads((GATEWAY_PROJECT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["rsp-gateway"] == "rsp_gateway.cli:main"
    assert isinstance(gateway_cli, click.Group)
    for kind in ("Job", "CronJob"):
        program, command = container(rendered.of_kind(kind)[0])["command"]
        assert program == "rsp-gateway"
        assert command in gateway_cli.commands


def test_migration_is_a_pre_install_and_pre_upgrade_hook(
    rendered: RenderedChart,
) -> None:
    job = rendered.get("Job", "gateway-migrate")["metadata"]["annotations"]
    config = rendered.get("ConfigMap", "gateway-migrate")["metadata"]["annotations"]
    for hook in (job, config):
        assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert hook["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert int(config["helm.sh/hook-weight"]) < int(job["helm.sh/hook-weight"])
    assert "helm.sh/hook" not in rendered.get("ConfigMap", "gateway")["metadata"].get(
        "annotations", {}
    )


def test_every_pod_is_locked_down_alike(rendered: RenderedChart) -> None:
    specs = [
        rendered.get("Deployment")["spec"]["template"]["spec"],
        rendered.get("Job")["spec"]["template"]["spec"],
        rendered.get("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    ]
    for spec in specs:
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["securityContext"]["runAsUser"] == 1000
        (main,) = spec["containers"]
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]
    assert rendered.get("ServiceAccount")["automountServiceAccountToken"] is False


def test_removing_optional_objects(default: RenderedChart) -> None:
    rendered = _render(
        "default",
        {
            "ingress": {"enabled": False},
            "migration": {"enabled": False},
            "maintenance": {"enabled": False},
            "podDisruptionBudget": {"enabled": False},
            "networkPolicy": {"enabled": False},
        },
    )
    assert sorted(o["kind"] for o in rendered.objects) == [
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
    ]


def test_prod_spreads_and_keeps_pods_available(prod: RenderedChart) -> None:
    spec = prod.get("Deployment")["spec"]
    assert spec["replicas"] == 3
    pod = spec["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]
    assert list(anti) == ["requiredDuringSchedulingIgnoredDuringExecution"]
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"
    pdb = prod.get("PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    annotations = prod.get("ServiceAccount")["metadata"]["annotations"]
    assert annotations["iam.gke.io/gcp-service-account"].startswith("gateway@")


# NetworkPolicy


def _egress_ports(rendered: RenderedChart) -> dict[int, list[dict[str, Any]]]:
    rules = rendered.get("NetworkPolicy")["spec"]["egress"]
    return {p["port"]: rule.get("to", []) for rule in rules for p in rule["ports"]}


def test_network_policy_admits_only_the_ingress_and_platform(
    prod: RenderedChart,
) -> None:
    spec = prod.get("NetworkPolicy")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "gateway",
        "app.kubernetes.io/instance": "gateway",
    }
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    controller, own_namespace, *platform = rule["from"]
    assert controller == {
        "namespaceSelector": {
            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
        },
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    }
    assert own_namespace == {"podSelector": {}}
    assert [p["namespaceSelector"]["matchLabels"] for p in platform] == [
        {"kubernetes.io/metadata.name": n}
        for n in ("nublado", "tap", "portal", "science-platform-operator")
    ]


def test_network_policy_egress_in_prod(prod: RenderedChart) -> None:
    ports = _egress_ports(prod)
    assert set(ports) == {53, 5432, 6378, 443}
    assert ports[5432] == [{"ipBlock": {"cidr": "10.88.0.3/32"}}]
    assert ports[6378] == [{"ipBlock": {"cidr": "10.88.1.4/32"}}]
    assert ports[53] == ports[443] == []


def test_network_policy_egress_by_default(default: RenderedChart) -> None:
    assert set(_egress_ports(default)) == {53, 5432}


def test_long_release_names_stay_within_kubernetes_limits() -> None:
    release = "x" * 53  # the longest name Helm accepts for a release
    helm.validate_release_name(release)
    rendered = render_chart(CHART, release=release, namespace=NAMESPACE)
    assert_valid(rendered.objects)
    for obj in rendered.objects:
        limit = 52 if obj["kind"] == "CronJob" else 63
        assert len(obj["metadata"]["name"]) <= limit, obj["metadata"]["name"]
        for value in obj["metadata"]["labels"].values():
            assert len(value) <= 63


@pytest.mark.parametrize(
    ("values", "granted"),
    [
        ({}, None),
        ({"global": {"ingressFlavour": "nginx"}}, None),
        (
            {
                "global": {"ingressFlavour": "gateway-api"},
                "referenceGrant": {"fromNamespaces": ["tap", NAMESPACE, "butler"]},
            },
            ["butler", "tap"],
        ),
        (
            {"referenceGrant": {"enabled": True, "fromNamespaces": ["nublado"]}},
            ["nublado"],
        ),
    ],
)
def test_reference_grant_follows_the_gateway_api_flavour(
    values: dict[str, Any], granted: list[str] | None
) -> None:
    """The operator's SecurityPolicies in the listed namespaces (not the
    gateway's own, which needs no grant) may reference the gateway's Service."""
    rendered = _render("default", values)
    grants = rendered.of_kind("ReferenceGrant")
    if granted is None:
        assert grants == []
        return
    (grant,) = grants
    assert grant["metadata"]["namespace"] == NAMESPACE
    assert [f["namespace"] for f in grant["spec"]["from"]] == granted
    assert {f["kind"] for f in grant["spec"]["from"]} == {"SecurityPolicy"}
    (service,) = rendered.of_kind("Service")
    assert grant["spec"]["to"] == [
        {"group": "", "kind": "Service", "name": service["metadata"]["name"]}
    ]
