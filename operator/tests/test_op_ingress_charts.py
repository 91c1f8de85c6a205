"""The service charts' PlatformIngress resources, through the operator.

The contract end to end: each chart that routes renders its PlatformIngress
resources (real Helm), which meet the CRD, read as the route table's routes,
and become valid ingress objects in both flavours.
"""

from __future__ import annotations

from typing import Any

import pytest
from optest.ingress_checks import (
    REPO_ROOT,
    assert_kubernetes_valid,
    platform_ingress_problems,
    render_chart,
)
from optest.ingress_harness import operator_settings
from rsp_operator.config import IngressFlavour
from rsp_operator.ingress.model import parse_platform_ingress
from rsp_operator.ingress.render import desired_objects
from rsp_platform.routes import ROUTE_TABLE

CHARTS = sorted(
    p.parent.parent.name
    for p in (REPO_ROOT / "charts").glob("*/templates/platformingress.yaml")
)


@pytest.fixture(scope="module", params=CHARTS)
def chart_resources(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    chart: str = request.param
    rendered = render_chart(chart, release=chart, namespace=chart)
    resources = rendered.of_kind("PlatformIngress")
    assert resources, f"chart {chart} renders no PlatformIngress"
    for resource in resources:
        resource["metadata"].setdefault("uid", f"uid-{resource['metadata']['name']}")
    return resources


def test_some_charts_route() -> None:
    assert {"gateway", "tap"} <= set(CHARTS)


@pytest.mark.helm
def test_chart_resources_become_valid_ingress_objects(
    chart_resources: list[dict[str, Any]],
) -> None:
    table_paths = {(r.path, r.match) for r in ROUTE_TABLE.routes}
    for body in chart_resources:
        assert platform_ingress_problems(body) == [], body["metadata"]["name"]
        resource = parse_platform_ingress(body)
        assert (resource.route.path, resource.route.match) in table_paths
        table_route = next(
            r for r in ROUTE_TABLE.routes if r.path == resource.route.path
        )
        assert resource.route.scopes == table_route.scopes
        assert resource.route.access == table_route.access
        assert resource.route.anonymous_paths == table_route.anonymous_paths
        for flavour in IngressFlavour:
            settings = operator_settings(ingress_flavour=flavour)
            objects = desired_objects(resource, settings)
            assert objects
            if flavour is IngressFlavour.NGINX:
                assert_kubernetes_valid(objects)
