"""Service discovery as clients use it: the real rubin-repertoire DiscoveryClient."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from rsp_discovery.cli import main as cli
from rsp_discovery.config import (
    CONFIG_PATH_ENV,
    Config,
    ConfigurationError,
    load_config,
)
from rsp_discovery.main import create_app
from rsp_platform.repositories import repository_index
from rsp_platform.routes import ROUTE_TABLE
from rubin.repertoire import Discovery, DiscoveryClient

BASE_URL = "https://data.example.org"


def _client(config: Config) -> tuple[DiscoveryClient, httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(config))
    http = httpx.AsyncClient(transport=transport)
    return DiscoveryClient(http, base_url=f"{BASE_URL}/repertoire"), http


@pytest.fixture
async def discovery() -> AsyncIterator[DiscoveryClient]:
    client, http = _client(Config(base_url=BASE_URL, environment="idfprod"))
    yield client
    await http.aclose()


async def test_client_finds_every_entry_of_the_contract(
    discovery: DiscoveryClient,
) -> None:
    # platform.md, "Service discovery": the whole table.
    assert await discovery.url_for_internal("gafaelfawr", version="v1") == (
        f"{BASE_URL}/auth/api/v1"
    )
    assert await discovery.url_for_internal("gafaelfawr") == f"{BASE_URL}/auth/api/v1"
    assert await discovery.url_for_ui("nublado") == f"{BASE_URL}/nb/"
    assert await discovery.url_for_ui("portal") == f"{BASE_URL}/portal/"
    assert await discovery.url_for_data("tap", "dp01") == f"{BASE_URL}/api/tap"
    index = repository_index(BASE_URL, ["dp01"])
    assert await discovery.butler_config_for("dp01") == index["dp01"]
    assert await discovery.butler_repositories() == index
    assert await discovery.datasets() == ["dp01"]


async def test_client_sees_the_environment_and_no_unknown_names(
    discovery: DiscoveryClient,
) -> None:
    environment = await discovery.environment()
    assert environment is not None
    assert environment.label == "idfprod"
    assert environment.name == "data.example.org"
    assert await discovery.environment_name() == "data.example.org"
    assert await discovery.url_for_internal("gafaelfawr", version="v2") is None
    assert await discovery.url_for_ui("argocd") is None
    assert await discovery.url_for_data("tap", "dp02") is None
    assert await discovery.versions_for_internal("gafaelfawr") == ["v1"]
    assert set(await discovery.applications()) == {s.name for s in ROUTE_TABLE.services}


async def test_required_scopes_come_from_the_route_table() -> None:
    transport = httpx.ASGITransport(app=create_app(Config(base_url=BASE_URL)))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        r = await http.get("/repertoire/discovery")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=300"
    document = Discovery.model_validate(r.json())
    assert document.datasets["dp01"].services["tap"].required_scopes == ["read:tap"]
    assert document.services.ui["nublado"].required_scopes == ["exec:notebook"]
    assert document.services.ui["portal"].required_scopes == ["exec:portal"]
    openapi = document.services.internal["gafaelfawr"].openapi
    assert str(openapi) == f"{BASE_URL}/auth/openapi.json"


async def test_services_that_do_not_run_are_not_listed() -> None:
    config = Config(base_url=BASE_URL, enabled_services=["gateway", "repertoire"])
    client, http = _client(config)
    try:
        assert await client.url_for_data("tap", "dp01") is None
        assert await client.butler_config_for("dp01") is None
        assert await client.url_for_ui("nublado") is None
        assert await client.url_for_ui("portal") is None
        assert await client.datasets() == ["dp01"]
        assert await client.url_for_internal("gafaelfawr", version="v1") == (
            f"{BASE_URL}/auth/api/v1"
        )
        assert await client.applications() == ["gateway", "repertoire"]
    finally:
        await http.aclose()


async def test_a_dataset_without_butler_has_no_butler_config() -> None:
    config = Config(
        base_url="http://localhost:8000",
        datasets={"dp01": {"butler": False}, "dp02": {"services": []}},
    )
    client, http = _client(config)
    try:
        assert await client.butler_config_for("dp01") is None
        assert (
            await client.url_for_data("tap", "dp01") == "http://localhost:8000/api/tap"
        )
        assert await client.butler_config_for("dp02") == (
            "http://localhost:8000/api/butler/repo/dp02/butler.yaml"
        )
        assert await client.url_for_data("tap", "dp02") is None
    finally:
        await http.aclose()


async def test_health_route_answers() -> None:
    transport = httpx.ASGITransport(app=create_app(Config(base_url=BASE_URL)))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        r = await http.get("/healthz")
    assert r.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"base_url": "https://example.org/path"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": BASE_URL, "enabled_services": ["wobbly"]}, "enabled_services"),
        (
            {"base_url": BASE_URL, "datasets": {"dp01": {"services": ["sia"]}}},
            "datasets",
        ),
        ({"base_url": BASE_URL, "datasets": {"dp 01": {}}}, "label"),
        ({"base_url": BASE_URL, "unknown_key": 1}, "unknown_key"),
        ({"base_url": BASE_URL, "environment": "Prod!"}, "environment"),
    ],
)
def test_invalid_configuration_is_refused(
    values: dict[str, object],
    field: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "discovery.yaml"
    path.write_text(yaml.safe_dump(values))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    with pytest.raises(ConfigurationError, match=field):
        load_config()


def test_yaml_file_is_read_and_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "discovery.yaml"
    path.write_text(yaml.safe_dump({"base_url": BASE_URL, "environment": "idfint"}))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    monkeypatch.setenv("RSP_DISCOVERY_ENVIRONMENT", "idfdev")
    config = load_config()
    assert config.external_url == BASE_URL
    assert config.environment == "idfdev"


def test_missing_configuration_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigurationError, match=r"absent\.yaml"):
        load_config()


def test_cli_prints_the_document_and_the_lab_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "discovery.yaml"
    path.write_text(yaml.safe_dump({"base_url": BASE_URL}))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    runner = CliRunner()
    full = runner.invoke(cli, ["document"])
    assert full.exit_code == 0, full.output
    assert Discovery.model_validate(json.loads(full.output)).services.ui
    lab = runner.invoke(cli, ["document", "--nublado"])
    assert lab.exit_code == 0, lab.output
    data = json.loads(lab.output)
    assert data["datasets"]["dp01"]["services"]["tap"]["url"] == f"{BASE_URL}/api/tap"
    assert data["datasets"]["dp01"]["butler_config"].endswith("/repo/dp01/butler.yaml")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "absent.yaml"))
    failed = runner.invoke(cli, ["document"])
    assert failed.exit_code == 1
    assert "absent.yaml" in failed.output
