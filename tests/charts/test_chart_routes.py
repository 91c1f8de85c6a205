"""Every service chart declares its routes as PlatformIngress resources.

The routes come from the platform's route table only: each chart vendors
``files/platformingresses.yaml`` as ``rsp-platform routes --format
platformingress`` writes it (``UPDATE_GOLDEN=1`` rewrites a stale file), and
renders one ``PlatformIngress`` per entry that its CRD accepts, with the
chart's own Service as the backend. No chart makes an ``Ingress`` or sets
an ingress controller's annotations: the operator owns those, and turns the
charts' resources into ingress objects that admit each path as the route
table says.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rsp_operator.config import OperatorSettings
from rsp_operator.ingress import parse_platform_ingress
from rsp_operator.ingress.nginx import nginx_objects
from rsp_platform.routes import ROUTE_TABLE, Match, Route, auth_url

from tests.charts.golden import updating
from tests.charts.kubeschema import (
    assert_valid,
    platform_crd_validator,
    platform_crds,
)
from tests.charts.platform_ingress import (
    CHART_OWNED_FIELDS,
    CHART_SERVICES,
    declared_routes,
    expected_spec,
    generated_routes_file,
    platform_ingresses,
    route_of,
    routes_file,
)
from tests.charts.rendering import CHARTS_DIR, RenderedChart, render_chart

pytestmark = pytest.mark.helm

CHARTS = sorted(CHART_SERVICES)


def _render(
    chart: str, values: dict[str, Any] | None = None, *, release: str | None = None
) -> RenderedChart:
    return render_chart(chart, values, release=release or chart, namespace=chart)


@pytest.fixture(scope="module", params=CHARTS)
def chart(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def default(chart: str) -> RenderedChart:
    return _render(chart)


def _crd_spec_schema() -> dict[str, Any]:
    (crd,) = [
        c for c in platform_crds() if c["spec"]["names"]["kind"] == "PlatformIngress"
    ]
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def test_every_service_chart_is_covered() -> None:
    with_routes = {
        p.parent.parent.name for p in CHARTS_DIR.glob("*/files/platformingresses.yaml")
    }
    assert with_routes == set(CHART_SERVICES)
    assert not list(CHARTS_DIR.glob("*/files/routes.yaml"))
    assert set(CHART_SERVICES.values()) <= {s.name for s in ROUTE_TABLE.services}


def test_routes_file_is_the_route_table(chart: str) -> None:
    generated = generated_routes_file(CHART_SERVICES[chart])
    path = routes_file(chart)
    if updating():
        path.write_text(generated)
    assert path.read_text() == generated, (
        f"charts/{chart}/files/platformingresses.yaml is stale: regenerate with "
        f"UPDATE_GOLDEN=1 or `rsp-platform routes --service {CHART_SERVICES[chart]} "
        f"--format platformingress > charts/{chart}/files/platformingresses.yaml`"
    )


def test_crd_mirrors_the_route_model() -> None:
    schema = _crd_spec_schema()
    route_fields = {
        f.alias: f
        for n, f in Route.model_fields.items()
        if n not in {"name", "service"}
    }
    assert set(schema["properties"]) == set(route_fields) | CHART_OWNED_FIELDS
    required = {a for a, f in route_fields.items() if f.is_required()}
    assert set(schema["required"]) <= required | {"backend"}
    for alias, field in route_fields.items():
        crd_default = schema["properties"][alias].get("default")
        default = field.default
        if alias in required:
            assert crd_default is None, f"{alias}: required, yet a CRD default"
        elif crd_default is None:
            assert default in (None, ()), (
                f"{alias}: CRD has no default, route {default}"
            )
        else:
            assert crd_default == default, (
                f"{alias}: CRD {crd_default}, route {default}"
            )


def test_one_platform_ingress_per_declared_route(
    chart: str, default: RenderedChart
) -> None:
    service = CHART_SERVICES[chart]
    routes = declared_routes(service)
    by_component = {
        o["metadata"]["labels"]["app.kubernetes.io/component"]: o
        for o in platform_ingresses(default)
    }
    assert sorted(by_component) == sorted(r.name for r in routes)
    for route in routes:
        spec = by_component[route.name]["spec"]
        assert {k: v for k, v in spec.items() if k not in CHART_OWNED_FIELDS} == (
            expected_spec(route)
        )
        assert route_of(spec, name=route.name, service=service) == route
        assert spec["host"] == "localhost"
        assert "tlsSecretName" not in spec


def test_platform_ingresses_meet_their_crd(chart: str, default: RenderedChart) -> None:
    report = assert_valid(default.objects)
    resources = platform_ingresses(default)
    assert resources
    assert {f"PlatformIngress/{o['metadata']['name']}" for o in resources} <= set(
        report.validated
    )
    assert [o for o in report.skipped if o.startswith("PlatformIngress/")] == []


def test_crd_refuses_a_broken_resource(default: RenderedChart) -> None:
    (first, *_) = platform_ingresses(default)
    broken = yaml.safe_load(yaml.safe_dump(first))
    broken["spec"]["access"] = "internal"
    broken["spec"]["ingressClassName"] = "nginx"
    problems = platform_crd_validator()(broken)
    assert problems is not None
    assert any("internal" in p for p in problems)
    assert any("ingressClassName" in p for p in problems)


def test_backend_is_a_service_of_the_chart(chart: str, default: RenderedChart) -> None:
    services = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]}
        for s in default.of_kind("Service")
    }
    for resource in platform_ingresses(default):
        backend = resource["spec"]["backend"]
        assert backend["port"] in services[backend["service"]], backend
        assert resource["metadata"]["namespace"] == chart


def test_no_ingress_objects_or_controller_annotations(default: RenderedChart) -> None:
    assert default.of_kind("Ingress") == []
    assert not [s for s in default.strings() if "nginx.ingress.kubernetes.io" in s]
    assert not [s for s in default.strings() if "/ingress/auth" in s]


def test_host_certificate_and_annotations_come_from_values(chart: str) -> None:
    rendered = _render(
        chart,
        {
            "global": {"host": "data-int.lsst.cloud"},
            "ingress": {
                "host": "ignored.example.org",
                "tls": {"secretName": "data-int-tls"},
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-dns"},
            },
        },
    )
    resources = platform_ingresses(rendered)
    assert resources
    for resource in resources:
        assert resource["spec"]["host"] == "data-int.lsst.cloud"
        assert resource["spec"]["tlsSecretName"] == "data-int-tls"
        assert resource["metadata"]["annotations"] == {
            "cert-manager.io/cluster-issuer": "letsencrypt-dns"
        }
    assert_valid(rendered.objects)


def test_routes_can_be_left_out(chart: str) -> None:
    rendered = _render(chart, {"ingress": {"enabled": False}})
    assert platform_ingresses(rendered) == []


def test_names_are_unique_and_short_for_long_releases(chart: str) -> None:
    rendered = _render(chart, release="r" * 53)
    names = [o["metadata"]["name"] for o in platform_ingresses(rendered)]
    assert len(set(names)) == len(names) == len(declared_routes(CHART_SERVICES[chart]))
    assert all(len(n) <= 63 and not n.endswith("-") for n in names), names


def test_operator_routes_each_chart_as_the_route_table_does(
    chart: str, default: RenderedChart
) -> None:
    # The chain in a cluster: chart -> PlatformIngress -> the operator's
    # ingress-nginx objects. It must admit every path as the route table
    # (and so the local nginx) does, with its anonymous paths expanded.
    settings = OperatorSettings()
    made = [
        obj
        for resource in platform_ingresses(default)
        for obj in nginx_objects(parse_platform_ingress(resource), settings)
    ]
    assert_valid(made)
    routed = {
        (path["path"], path["pathType"]): obj["metadata"]
        .get("annotations", {})
        .get("nginx.ingress.kubernetes.io/auth-url")
        for obj in made
        for rule in obj["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    gateway = str(settings.gateway_url)
    expected = {
        (r.path, "Exact" if r.match is Match.EXACT else "Prefix"): auth_url(r, gateway)
        for r in ROUTE_TABLE.for_service(CHART_SERVICES[chart])
        if not r.internal
    }
    assert routed == expected
