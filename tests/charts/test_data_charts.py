"""The data charts (discovery, butler) agree with the code they deploy.

Their route files are the route table's, discovery's rendered configuration
is valid for ``rsp_discovery`` and the Butler chart's repository index is the
one ``rsp_platform.repositories`` defines (the same URLs discovery lists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from lsst.daf.butler.remote_butler.server._config import RepositoryConfig
from pydantic import TypeAdapter
from rsp_discovery.config import Config as DiscoveryConfig
from rsp_discovery.discovery import build_discovery
from rsp_platform.cli import main as platform_cli
from rsp_platform.repositories import repository_index

from tests.charts.golden import updating
from tests.charts.rendering import CHARTS_DIR, render_chart

pytestmark = pytest.mark.helm

ROUTE_FILES = {"discovery": "repertoire", "butler": "butler"}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(("chart", "service"), sorted(ROUTE_FILES.items()))
def test_route_files_are_the_route_table(chart: str, service: str) -> None:
    result = CliRunner().invoke(
        platform_cli, ["routes", "--service", service, "--format", "yaml"]
    )
    assert result.exit_code == 0, result.output
    path: Path = CHARTS_DIR / chart / "files" / "routes.yaml"
    if updating():
        path.write_text(result.output)
    assert path.read_text() == result.output, (
        f"charts/{chart}/files/routes.yaml is stale: regenerate with UPDATE_GOLDEN=1 "
        f"or `rsp-platform routes --service {service} --format yaml`"
    )


def test_discovery_configuration_is_valid_for_the_service() -> None:
    rendered = render_chart(
        CHARTS_DIR / "discovery",
        {"global": {"baseUrl": "https://data.example.org", "environment": "idfint"}},
        release="discovery",
        namespace="repertoire",
    )
    data = yaml.safe_load(rendered.get("ConfigMap")["data"]["discovery.yaml"])
    config = DiscoveryConfig(**data)
    assert config.environment == "idfint"
    discovery = build_discovery(config)
    assert (
        str(discovery.datasets["dp01"].butler_config)
        == repository_index("https://data.example.org", ["dp01"])["dp01"]
    )
    ingress = rendered.get("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"].endswith(
        "/ingress/anonymous"
    )
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/repertoire"


def test_butler_index_and_server_settings() -> None:
    values = {
        "global": {"baseUrl": "https://data.example.org"},
        "config": {
            "repositories": {
                "dp01": {
                    "configUri": "s3://b/dp01/butler.yaml",
                    "authorizedGroups": ["g"],
                },
                "dp02": {
                    "configUri": "s3://b/dp02/butler.yaml",
                    "authorizedGroups": ["*"],
                },
            }
        },
    }
    rendered = render_chart(
        CHARTS_DIR / "butler", values, release="butler", namespace="butler"
    )
    index = yaml.safe_load(rendered.get("ConfigMap")["data"]["repositories.yaml"])
    assert index == repository_index("https://data.example.org", ["dp01", "dp02"])
    (container,) = rendered.get("Deployment")["spec"]["template"]["spec"]["containers"]
    env = _env(container)
    repositories = TypeAdapter(dict[str, RepositoryConfig]).validate_python(
        json.loads(str(env["DAF_BUTLER_SERVER_REPOSITORIES"]))
    )
    assert repositories["dp01"].config_uri == "s3://b/dp01/butler.yaml"
    assert repositories["dp01"].authorized_groups == ["g"]
    assert env["DAF_BUTLER_SERVER_GAFAELFAWR_URL"] == (
        "http://gateway.gateway.svc.cluster.local:8080/auth"
    )
    assert env["DAF_BUTLER_SERVER_AUTHENTICATION"] == "rubin_science_platform"
    assert container["args"][0] == "rsp_butler.server:create_app"


def test_butler_api_ingress_requires_read_image_and_config_files_are_anonymous() -> (
    None
):
    rendered = render_chart(CHARTS_DIR / "butler", release="butler", namespace="butler")
    ingresses = {
        o["spec"]["rules"][0]["http"]["paths"][0]["path"]: o["metadata"]["annotations"][
            "nginx.ingress.kubernetes.io/auth-url"
        ]
        for o in rendered.objects
        if o["kind"] == "Ingress"
    }
    api = ingresses["/api/butler"]
    assert "scope=read:image" in api
    assert "delegate_to=butler" in api
    assert "use_authorization=true" in api
    for path in (
        "/api/butler/configs/repositories.yaml",
        "/api/butler/repo/dp01/butler.yaml",
        "/api/butler/files",
    ):
        assert ingresses[path].endswith("/ingress/anonymous"), path
