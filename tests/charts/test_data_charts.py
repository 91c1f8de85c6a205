"""The data charts (discovery, butler) agree with the code they deploy.

Their routes are the route table's (``test_chart_routes.py`` checks the
vendored files), discovery's rendered configuration is valid for
``rsp_discovery`` and the Butler chart's repository index is the one
``rsp_platform.repositories`` defines (the same URLs discovery lists).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from lsst.daf.butler.remote_butler.server._config import RepositoryConfig
from pydantic import TypeAdapter
from rsp_discovery.config import Config as DiscoveryConfig
from rsp_discovery.discovery import build_discovery
from rsp_platform.repositories import repository_index
from rsp_platform.routes import ROUTE_TABLE

from tests.charts.platform_ingress import platform_ingresses, spec_by_path
from tests.charts.rendering import CHARTS_DIR, render_chart

pytestmark = pytest.mark.helm


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


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
    (route,) = platform_ingresses(rendered)
    assert route["metadata"]["name"] == "discovery"
    assert route["spec"]["path"] == "/repertoire"
    assert route["spec"]["access"] == "anonymous"
    assert route["spec"]["backend"] == {"service": "discovery", "port": 8080}


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


def test_butler_api_requires_read_image_and_config_files_are_anonymous() -> None:
    rendered = render_chart(CHARTS_DIR / "butler", release="butler", namespace="butler")
    specs = spec_by_path(rendered)
    assert set(specs) == {"/api/butler", "/api/butler/files"}
    api = specs["/api/butler"]
    assert (api["access"], api["scopes"]) == ("scopes", ["read:image"])
    assert (api["delegateTo"], api["delegateScopes"]) == ("butler", ["read:image"])
    # RemoteButler sends the delegated token as Authorization: Bearer.
    assert api["useAuthorization"] is True
    assert api["anonymousPaths"] == [
        "configs/repositories.yaml",
        "repo/dp01/butler.yaml",
        "repo/dp01/butler.json",
    ]
    assert specs["/api/butler/files"]["access"] == "anonymous"
    for path in (
        "/api/butler/configs/repositories.yaml",
        "/api/butler/repo/dp01/butler.yaml",
        "/api/butler/files/dp01/x.fits",
    ):
        route = ROUTE_TABLE.route_for(path)
        assert route is not None
        assert route.anonymous, path
