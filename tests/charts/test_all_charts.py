"""Every chart under ``charts/`` meets the platform's conventions with its defaults.

A new service chart is picked up automatically: it must lint cleanly, document every
value, close its values schema at every level, and render with its defaults
into valid objects that satisfy the policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.charts.conventions import (
    open_schema_objects,
    schema_values_mismatch,
    undocumented_values,
)
from tests.charts.kubeschema import assert_valid
from tests.charts.policy import assert_policy
from tests.charts.rendering import CHARTS_DIR, lint_chart, load_values, render_chart

pytestmark = pytest.mark.helm

CHARTS = sorted(
    p.parent
    for p in CHARTS_DIR.glob("*/Chart.yaml")
    if "dependencies" not in yaml.safe_load(p.read_text())
)
"""The service charts; the umbrella chart, assembled from them, is tested in
``tests/environments``."""


def test_charts_are_found() -> None:
    assert CHARTS_DIR / "gateway" in CHARTS


@pytest.mark.parametrize("chart", CHARTS, ids=[c.name for c in CHARTS])
def test_chart_follows_conventions(chart: Path) -> None:
    assert lint_chart(chart) == []
    assert undocumented_values(chart / "values.yaml") == []
    schema_file = chart / "values.schema.json"
    assert schema_file.is_file(), f"{chart.name} has no values.schema.json"
    schema = json.loads(schema_file.read_text())
    assert list(open_schema_objects(schema)) == []
    assert schema_values_mismatch(schema, load_values(chart / "values.yaml")) == []


@pytest.mark.parametrize("chart", CHARTS, ids=[c.name for c in CHARTS])
def test_chart_defaults_render_valid_and_compliant(chart: Path) -> None:
    rendered = render_chart(chart, release=chart.name, namespace=chart.name)
    assert rendered.objects, f"{chart.name} renders nothing with its defaults"
    assert_valid(rendered.objects)
    assert_policy(rendered.objects, namespace=chart.name)
    assert rendered.seconds < 1.0
