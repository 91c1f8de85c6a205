"""The service charts' routes: ``PlatformIngress`` resources from the route table.

Each service chart vendors ``files/platformingresses.yaml``, written by
``rsp-platform routes --service NAME --format platformingress``, and makes
one ``PlatformIngress`` of each entry. These helpers say which chart serves
which service of the route table, what the vendored file should hold, and
read the rendered resources back as specs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from rsp_platform.cli import main as platform_cli
from rsp_platform.routes import (
    PLATFORM_INGRESS_API_VERSION,
    PLATFORM_INGRESS_KIND,
    ROUTE_TABLE,
    Route,
    platform_ingress_spec,
)

from .rendering import CHARTS_DIR, KubeObject, RenderedChart

__all__ = [
    "CHART_OWNED_FIELDS",
    "CHART_SERVICES",
    "ROUTES_FILE",
    "declared_routes",
    "expected_spec",
    "generated_routes_file",
    "platform_ingresses",
    "route_of",
    "routes_file",
    "spec_by_path",
]

CHART_SERVICES: dict[str, str] = {
    "gateway": "gateway",
    "tap": "tap",
    "notebooks": "nublado",
    "butler": "butler",
    "discovery": "repertoire",
}
"""Chart under ``charts/`` -> the route table's service whose routes it declares."""

ROUTES_FILE = "files/platformingresses.yaml"
"""Where in a chart the generated route entries are vendored."""

CHART_OWNED_FIELDS = frozenset({"backend", "host", "tlsSecretName"})
"""Spec fields the chart sets itself rather than copying from the route table."""


def routes_file(chart: str) -> Path:
    """The vendored route entries of a chart."""
    return CHARTS_DIR / chart / ROUTES_FILE


def generated_routes_file(service: str) -> str:
    """What the CLI writes for a service's routes: the file a chart vendors.

    Raises
    ------
    AssertionError
        If the command fails.
    """
    result = CliRunner().invoke(
        platform_cli, ["routes", "--service", service, "--format", "platformingress"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def declared_routes(service: str) -> list[Route]:
    """The routes of a service that a chart declares (as declared, not internal)."""
    return [r for r in ROUTE_TABLE.for_service(service, expand=False) if not r.internal]


def platform_ingresses(rendered: RenderedChart) -> list[KubeObject]:
    """Every rendered ``PlatformIngress``, checking its API version."""
    found = rendered.of_kind(PLATFORM_INGRESS_KIND)
    for obj in found:
        assert obj["apiVersion"] == PLATFORM_INGRESS_API_VERSION, obj["apiVersion"]
    return found


def spec_by_path(rendered: RenderedChart) -> dict[str, dict[str, Any]]:
    """The rendered ``PlatformIngress`` specs by route path."""
    specs = [o["spec"] for o in platform_ingresses(rendered)]
    by_path = {s["path"]: s for s in specs}
    assert len(by_path) == len(specs), "two PlatformIngresses declare one path"
    return by_path


def route_of(spec: dict[str, Any], *, name: str, service: str) -> Route:
    """Read a rendered spec back as a route, with the route table's rules.

    Fields the chart owns (backend, host, certificate) are left out; every
    other field must be one of the route's, under its camelCase name.
    """
    fields = {k: v for k, v in spec.items() if k not in CHART_OWNED_FIELDS}
    return Route.model_validate({"name": name, "service": service, **fields})


def expected_spec(route: Route) -> dict[str, Any]:
    """The spec of a route as the route table gives it, chart-owned fields left out."""
    spec = platform_ingress_spec(ROUTE_TABLE, route)
    return {k: v for k, v in spec.items() if k not in CHART_OWNED_FIELDS}
