"""The model of an environment file, and its committed JSON schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError
from rsp_platform.environments.model import SERVICES, EnvironmentValues
from rsp_platform.environments.schema import (
    environment_schema,
    schema_text,
    stale_schemas,
    umbrella_schema,
)

from tests.environments.support import ENVIRONMENTS, LAYOUT


def _prod() -> dict[str, Any]:
    return copy.deepcopy(LAYOUT.environment("idfprod").values)


def test_committed_schemas_match_the_model() -> None:
    assert stale_schemas(LAYOUT.environments_dir, LAYOUT.umbrella_dir) == []


def test_schema_drift_is_detected(tmp_path: Any) -> None:
    umbrella = tmp_path / "umbrella"
    umbrella.mkdir()
    (tmp_path / "values.schema.json").write_text(schema_text(environment_schema()))
    schema = umbrella_schema()
    schema["properties"]["global"]["properties"].pop("imageTag")
    (umbrella / "values.schema.json").write_text(schema_text(schema))
    assert stale_schemas(tmp_path, umbrella) == [umbrella / "values.schema.json"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_environment_file_is_valid(name: str) -> None:
    environment = LAYOUT.environment(name)
    values = environment.validate()
    assert values.global_.environment == name
    assert environment.validation_problems() == []


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ((), "gatway"),
        (("global",), "global.domain"),
        (("tls",), "tls.secretName"),
        (("tls", "certManager"), "tls.certManager.issuer"),
        (("secretStore",), "secretStore.projectId"),
        (("namespaces",), "namespaces.prefix"),
    ],
)
def test_unknown_keys_are_refused_at_every_modelled_level(
    path: tuple[str, ...], where: str
) -> None:
    values = _prod()
    node = values
    for key in path:
        node = node.setdefault(key, {})
    node[where.rsplit(".", 1)[-1]] = "x"
    with pytest.raises(ValidationError) as e:
        EnvironmentValues.model_validate(values)
    (error,) = e.value.errors()
    assert error["type"] == "extra_forbidden"
    assert ".".join(str(p) for p in error["loc"]) == where


def test_service_sections_pass_chart_values_through() -> None:
    values = EnvironmentValues.model_validate(_prod())
    tap = values.service("tap")
    assert tap.enabled is None
    assert tap.chart_values["resultStorage"]["type"] == "gcs"
    assert values.service("operator").chart_values == {
        "externalSecret": {"enabled": True},
    }
    with pytest.raises(KeyError, match="no service 'portal'"):
        values.service("portal")


def test_enabled_must_be_a_boolean() -> None:
    values = _prod()
    values["tap"]["enabled"] = "sometimes"
    with pytest.raises(ValidationError, match=r"tap\.enabled"):
        EnvironmentValues.model_validate(values)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseUrl": "https://data-int.lsst.cloud"}, "is not on host data.lsst.cloud"),
        ({"baseUrl": "https://data.lsst.cloud/"}, "should match pattern"),
        ({"imageTag": "latest"}, "the latest tag is not a version"),
        ({"environment": "IDF Prod"}, "should match pattern"),
    ],
)
def test_global_values_are_checked(change: dict[str, str], message: str) -> None:
    values = _prod()
    values["global"].update(change)
    with pytest.raises(ValidationError, match=message):
        EnvironmentValues.model_validate(values)


def test_global_needs_host_base_url_and_environment() -> None:
    with pytest.raises(ValidationError) as e:
        EnvironmentValues.model_validate({"global": {}})
    missing = {".".join(map(str, err["loc"])) for err in e.value.errors()}
    assert missing == {"global.host", "global.baseUrl", "global.environment"}


def test_issued_certificate_is_the_routes_only_one_and_store_has_a_project() -> None:
    values = _prod()
    values["secretStore"]["gcpProjectId"] = ""
    with pytest.raises(ValidationError, match="create needs gcpProjectId"):
        EnvironmentValues.model_validate(values)
    values = _prod()
    values["operator"]["config"] = {"tlsSecretName": "science-platform-tls"}
    with pytest.raises(ValidationError, match=r"leave out operator.config.tlsSec"):
        EnvironmentValues.model_validate(values)


def test_ingress_flavour_is_one_of_two() -> None:
    values = _prod()
    assert EnvironmentValues.model_validate(values).global_.ingress_flavour == "nginx"
    values["global"]["ingressFlavour"] = "gateway-api"
    assert EnvironmentValues.model_validate(values).global_.ingress_flavour == (
        "gateway-api"
    )
    values["global"]["ingressFlavour"] = "traefik"
    with pytest.raises(ValidationError, match=r"global\.ingressFlavour"):
        EnvironmentValues.model_validate(values)


def test_umbrella_schema_leaves_service_sections_to_their_charts() -> None:
    schema = umbrella_schema()
    for name in SERVICES:
        section = schema["properties"][name]
        assert "properties" not in section
        assert isinstance(section["additionalProperties"], dict)
    assert environment_schema()["properties"]["tap"]["properties"]["enabled"] == {
        "anyOf": [{"type": "boolean"}, {"type": "null"}],
        "default": None,
        "description": "Whether the environment runs this service",
    }
