"""Reading PlatformIngress resources: the route table's rules, clear messages."""

from __future__ import annotations

from typing import Any

import pytest
from optest.ingress_checks import platform_ingress_problems
from optest.ingress_harness import load_resource, operator_settings
from rsp_operator.ingress.model import MalformedResourceError, parse_platform_ingress
from rsp_operator.ingress.render import desired_objects
from rsp_platform.routes import ROUTE_TABLE
from rsp_platform.routing import Route


def _spec_of(route: Route) -> dict[str, Any]:
    """A resource spec for a route, as a chart writes it (defaults left out)."""
    spec = route.model_dump(
        by_alias=True, mode="json", exclude={"name", "service"}, exclude_defaults=True
    )
    spec["description"] = route.description
    spec["path"] = route.path
    upstream = ROUTE_TABLE.service(route.service).upstream
    spec["backend"] = {"service": upstream.service, "port": upstream.port}
    return spec


@pytest.mark.parametrize(
    "route", [r for r in ROUTE_TABLE.routes if not r.internal], ids=lambda r: r.name
)
def test_every_route_of_the_table_reads_back_as_itself(route: Route) -> None:
    body = {
        "apiVersion": "science-platform.dev/v1alpha1",
        "kind": "PlatformIngress",
        "metadata": {"name": route.name, "namespace": "science", "uid": "u"},
        "spec": _spec_of(route),
    }
    assert platform_ingress_problems(body) == []
    resource = parse_platform_ingress(body)
    upstream = ROUTE_TABLE.service(route.service).upstream
    assert resource.route == route.model_copy(update={"service": upstream.service})


def test_resource_name_becomes_a_route_name() -> None:
    body = load_resource("tap")
    body["metadata"]["name"] = "1.tap.v2"
    resource = parse_platform_ingress(body)
    assert resource.name == "1.tap.v2"
    assert resource.route.name == "r-1-tap-v2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scopes": ["read:tap", "read:everything"]}, "unknown scopes read:everything"),
        ({"scopes": []}, "no scopes; declare access=anonymous"),
        (
            {"access": "anonymous"},
            "scopes, delegate_to, delegate_scopes, auth_type=basic, anonymous_paths"
            " only apply to access=scopes, not anonymous",
        ),
        ({"notebook": True}, "notebook and delegate_to exclude each other"),
        ({"match": "exact"}, "anonymous_paths need a prefix route"),
        ({"path": "/api/../tap"}, "path must not have '.' or '..' segments"),
        ({"path": "/api/tap/"}, "spec.path: String should match pattern"),
        ({"minimumLifetime": 0}, "spec.minimumLifetime: Input should be greater"),
        ({"satisfy": "most"}, "spec.satisfy: Input should be 'all' or 'any'"),
        ({"delegateScope": ["read:tap"]}, "spec.delegateScope: Extra inputs"),
        ({"backend": {"service": "tap"}}, "spec.backend.port: Field required"),
        ({"backend": {"service": "Tap", "port": 80}}, "spec.backend.service: String"),
        ({"host": "Data.LSST.cloud"}, "spec.host: String should match pattern"),
        ({"service": "tap"}, "spec.service: not a field of PlatformIngress"),
        ({"access": "internal"}, "internal routes are never routed from outside"),
    ],
)
def test_malformed_specs_say_what_is_wrong(
    change: dict[str, Any], message: str
) -> None:
    body = load_resource("tap")
    body["spec"].update(change)
    with pytest.raises(MalformedResourceError) as excinfo:
        parse_platform_ingress(body)
    assert message in str(excinfo.value)
    assert "Traceback" not in str(excinfo.value)


def test_missing_spec_or_name() -> None:
    with pytest.raises(MalformedResourceError, match="spec: missing"):
        parse_platform_ingress({"metadata": {"name": "x"}})
    with pytest.raises(MalformedResourceError, match=r"metadata\.name: missing"):
        parse_platform_ingress({"metadata": {}, "spec": {}})


def test_crd_schema_refuses_what_the_api_server_would() -> None:
    body = load_resource("tap")
    body["spec"]["access"] = "internal"
    body["spec"]["extra"] = 1
    problems = platform_ingress_problems(body)
    assert any("internal" in p for p in problems)
    assert any("extra" in p for p in problems)


def test_long_names_stay_valid_object_names() -> None:
    body = load_resource("tap")
    body["metadata"]["name"] = "a" * 250
    resource = parse_platform_ingress(body)
    settings = operator_settings()
    names = [o["metadata"]["name"] for o in desired_objects(resource, settings)]
    assert names[0] == "a" * 250
    assert len(names[1]) == 253
    assert names[1] != names[0]
    route_label = desired_objects(resource, settings)[0]["metadata"]["labels"][
        "science-platform.dev/route"
    ]
    assert len(route_label) <= 63
