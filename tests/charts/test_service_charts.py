"""What every service chart gets, in each variant: the checks that are alike.

Each render of :data:`~tests.charts.service_charts.SERVICE_CHARTS` is valid
Kubernetes, matches its golden file (``UPDATE_GOLDEN=1`` rewrites them),
meets the policy, lints cleanly with the variant's values, renders fast and
holds no secret value. Each chart's own module tests what is particular to it.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from tests.charts.golden import compare_golden
from tests.charts.kubeschema import assert_valid
from tests.charts.policy import assert_policy
from tests.charts.rendering import RenderedChart, lint_chart
from tests.charts.secret_scan import find_secret_values
from tests.charts.service_charts import SERVICE_CHARTS
from tests.charts.workloads import ChartVariants

pytestmark = pytest.mark.helm


class Case(NamedTuple):
    """One chart rendered in one variant."""

    charts: ChartVariants
    variant: str
    rendered: RenderedChart


CASES = [(charts, variant) for charts in SERVICE_CHARTS for variant in charts.names]
"""Every chart with each of its variants."""


@pytest.fixture(
    scope="module",
    params=CASES,
    ids=[f"{charts.release}-{variant}" for charts, variant in CASES],
)
def case(request: pytest.FixtureRequest) -> Case:
    charts, variant = request.param
    return Case(charts, variant, charts.render(variant))


def test_every_object_is_valid_kubernetes(case: Case) -> None:
    report = assert_valid(case.rendered.objects)
    assert report.skipped == []
    assert len(report.validated) == len(case.rendered.objects)


def test_matches_golden_file(case: Case) -> None:
    compare_golden(f"{case.charts.release}-{case.variant}", case.rendered.objects)


def test_policy_holds(case: Case) -> None:
    assert_policy(case.rendered.objects, namespace=case.charts.namespace)


def test_helm_lint_is_clean(case: Case) -> None:
    assert lint_chart(case.charts.chart, case.charts.values(case.variant)) == []


def test_renders_well_under_a_second(case: Case) -> None:
    seconds = case.rendered.seconds
    assert seconds < 0.5, f"Helm took {seconds:.3f}s"


def test_no_secret_values_anywhere(case: Case) -> None:
    assert find_secret_values(case.rendered.objects) == []
    assert case.rendered.of_kind("Secret") == []
