"""The TAP chart, rendered by the real Helm engine and checked every way.

Two renders are tested throughout: the chart's defaults (a local install)
and production-like values (data.lsst.cloud with Cloud SQL and a GCS bucket).
Schemas, golden files, policy, lint and secret values are checked for every
service chart alike (``test_service_charts.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from rsp_platform.routes import ROUTE_TABLE
from rsp_tap.config import Config, GcsResultStorage, LocalResultStorage, load_config
from rsp_tap.handlers.health import HEALTH_PATH

from tests.charts.platform_ingress import platform_ingresses
from tests.charts.rendering import RenderedChart
from tests.charts.service_charts import TAP
from tests.charts.workloads import container, render_fixtures, stage_pod_config

pytestmark = pytest.mark.helm

SECRET = {
    "database-password": "job-store-pw",
    "database-url": "postgresql+asyncpg://tap:whole@db/tap",
    "query-database-password": "reader-pw",
    "query-database-url": "postgresql://tap_reader:whole@db/catalogs",
}

_render = TAP.render
rendered, prod, default = render_fixtures(TAP)


def test_objects_rendered(rendered: RenderedChart) -> None:
    assert rendered.names() == [
        "ConfigMap/tap",
        "ConfigMap/tap-migrate",
        "Deployment/tap",
        "Job/tap-migrate",
        "NetworkPolicy/tap",
        "PlatformIngress/tap",
        "Service/tap",
        "ServiceAccount/tap",
    ]


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"replicaCount": 3}, "replicaCount"),
        ({"config": {"maxrecLimt": 5}}, "maxrecLimt"),
        ({"config": {"syncTimeout": "a minute"}}, "syncTimeout"),
        ({"database": {"password": "hunter2"}}, "password"),
        ({"resultStorage": {"type": "s3"}}, "type"),
        ({"image": {"tag": "latest"}}, "tag"),
        ({"networkPolicy": {"webCidrs": ["anywhere"]}}, "webCidrs"),
        ({"secrets": {"name": ""}}, "secrets/name"),
    ],
)
def test_schema_refuses_bad_values(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        _render("default", values)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"config": {"environment": "idfprod"}}, "local environment only"),
        (
            {"config": {"environment": "idfprod"}, "resultStorage": {"type": "gcs"}},
            "resultStorage.bucket is required",
        ),
    ],
)
def test_inconsistent_values_fail_to_render(
    values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=complaint):
        _render("default", values)


def _load_config(
    rendered: RenderedChart,
    kind: str,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Config, dict[str, str]]:
    """Start the config loader on what a pod of this workload would see."""
    env = stage_pod_config(
        rendered,
        (kind, name),
        secret=("tap", SECRET),
        env_prefix="RSP_TAP_",
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    return load_config(), env


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "tap"), ("Job", "tap-migrate")]
)
def test_configmap_loads_into_tap_config(
    rendered: RenderedChart,
    kind: str,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, _ = _load_config(rendered, kind, name, tmp_path, monkeypatch)
    assert ":job-store-pw@" in config.database_url.get_secret_value()
    assert config.query_database_url.get_secret_value().startswith(
        "postgresql://tap_reader:reader-pw@"
    )


def test_prod_config_is_what_values_say(
    prod: RenderedChart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, env = _load_config(prod, "Deployment", "tap", tmp_path, monkeypatch)
    assert config.environment == "idfprod"
    assert config.service_url == "https://data.lsst.cloud/api/tap"
    assert config.maxrec_limit == 10_000_000
    assert config.sync_timeout.total_seconds() == 120
    assert config.default_user is None
    storage = config.result_storage
    assert isinstance(storage, GcsResultStorage)
    assert storage.bucket == "rsp-tap-results-idfprod"
    assert storage.url_lifetime.total_seconds() == 1800
    assert config.database_url.get_secret_value() == (
        "postgresql+asyncpg://tap:job-store-pw@10.88.0.5:5432/tap"
    )
    assert config.query_database_url.get_secret_value() == (
        "postgresql://tap_reader:reader-pw@10.88.0.6:5432/catalogs"
    )
    data = yaml.safe_load(prod.get("ConfigMap", "tap")["data"]["tap.yaml"])
    from_env = {
        n.removeprefix("RSP_TAP_").lower()
        for n in env
        if n.startswith("RSP_TAP_") and n != "RSP_TAP_CONFIG_PATH"
    }
    # Every field is set by the chart except those allowed only locally (the
    # test user, uploads by URL from private addresses).
    local_only = {"default_user", "upload_url_allow_private_networks"}
    assert set(data) | from_env == set(Config.model_fields) - local_only


def test_default_config_keeps_results_in_the_pod(
    default: RenderedChart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = _load_config(default, "Deployment", "tap", tmp_path, monkeypatch)
    assert isinstance(config.result_storage, LocalResultStorage)
    pod = default.get("Deployment")["spec"]["template"]["spec"]
    mounts = {
        m["name"]: m["mountPath"]
        for m in container(default.get("Deployment"))["volumeMounts"]
    }
    assert mounts["results"] == str(config.result_storage.path)
    assert any(v["name"] == "results" and "emptyDir" in v for v in pod["volumes"])


def test_urls_can_come_whole_from_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = _render(
        "prod",
        {"database": {"urlFromSecret": True}, "queryDatabase": {"urlFromSecret": True}},
    )
    config, env = _load_config(rendered, "Deployment", "tap", tmp_path, monkeypatch)
    assert config.database_url.get_secret_value() == SECRET["database-url"]
    assert config.query_database_url.get_secret_value() == SECRET["query-database-url"]
    assert "DATABASE_PASSWORD" not in env


def test_one_server_process(rendered: RenderedChart) -> None:
    deployment = rendered.get("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    args = container(deployment)["args"]
    assert args[0] == "rsp_tap.main:create_app"
    assert "--workers=1" in args
    probes = container(deployment)
    assert probes["livenessProbe"]["httpGet"]["path"] == HEALTH_PATH
    assert probes["readinessProbe"]["httpGet"]["path"] == "/api/tap/availability"


def test_migration_runs_rsp_tap_migrate(rendered: RenderedChart) -> None:
    job = rendered.get("Job", "tap-migrate")
    assert container(job)["command"] == ["rsp-tap", "migrate"]
    from rsp_tap.cli import main as tap_cli  # noqa: PLC0415

    assert "migrate" in tap_cli.commands


def test_one_platform_ingress_carries_the_anonymous_paths(
    prod: RenderedChart,
) -> None:
    (resource,) = platform_ingresses(prod)
    assert resource["metadata"]["name"] == "tap"
    spec = resource["spec"]
    assert spec["path"] == "/api/tap"
    assert spec["match"] == "prefix"
    assert (spec["access"], spec["scopes"]) == ("scopes", ["read:tap"])
    assert (spec["delegateTo"], spec["delegateScopes"]) == ("tap", ["read:tap"])
    # pyvo and TOPCAT answer a Basic challenge; availability and capabilities
    # stay open (VOSI), expanded by the operator, not here.
    assert spec["authType"] == "basic"
    assert spec["anonymousPaths"] == ["availability", "capabilities"]
    assert spec["backend"] == {"service": "tap", "port": 8080}
    assert spec["host"] == "data.lsst.cloud"
    assert spec["tlsSecretName"] == "data-lsst-cloud-tls"
    assert resource["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-dns"
    }
    for sub in spec["anonymousPaths"]:
        route = ROUTE_TABLE.route_for(f"/api/tap/{sub}")
        assert route is not None
        assert route.anonymous


def test_auth_subrequest_is_the_operators(default: RenderedChart) -> None:
    # global.gatewayUrl existed only for the ingress-nginx auth-url; the
    # operator has its own gateway URL now.
    assert default.of_kind("Ingress") == []
    with pytest.raises(helm.HelmValuesError, match="gatewayUrl"):
        _render("default", {"global": {"gatewayUrl": "http://gw.example:81"}})
