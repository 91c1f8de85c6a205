"""Every chart's README lists every value its values.yaml takes.

The table between the README's markers is generated from ``values.yaml``
(``rsp-platform chart-readme``); these tests fail when a value is added
without regenerating it, and when a top-level key is not mentioned at all.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rsp_platform.chartdocs import (
    BEGIN_MARKER,
    END_MARKER,
    document_values,
    rendered_readme,
    update_readme,
    values_table,
)
from rsp_platform.cli import main

from tests.charts.rendering import CHARTS_DIR, load_values

CHARTS = sorted(p.parent.name for p in CHARTS_DIR.glob("*/values.yaml"))


def test_every_chart_is_here() -> None:
    assert CHARTS == [
        "butler",
        "discovery",
        "gateway",
        "notebooks",
        "operator",
        "science-platform",
        "tap",
    ]


@pytest.mark.parametrize("chart", CHARTS)
def test_readme_table_is_up_to_date(chart: str) -> None:
    readme = (CHARTS_DIR / chart / "README.md").read_text()
    assert BEGIN_MARKER in readme
    assert END_MARKER in readme
    assert readme == rendered_readme(CHARTS_DIR / chart), (
        f"charts/{chart}/README.md is stale: run rsp-platform chart-readme"
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_readme_mentions_every_top_level_value(chart: str) -> None:
    readme = (CHARTS_DIR / chart / "README.md").read_text()
    for key in load_values(CHARTS_DIR / chart / "values.yaml"):
        assert re.search(rf"`{re.escape(key)}[`.]", readme), f"{chart}: {key}"


def test_table_has_one_row_per_documented_field(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "# A section without its own row.\n"
        "image:\n"
        "  # -- Registry of the image\n"
        "  registry: ghcr.io\n"
        "  # -- Tag | or digest, <empty>: the\n"
        "  # chart's appVersion\n"
        "  tag: ''\n"
        "# -- Resources of the pod, as one row\n"
        "resources:\n"
        "  requests:\n"
        "    cpu: 100m\n"
        "  limits:\n"
        "    cpu: '1'\n"
        "    memory: 1Gi\n"
        "    ephemeral-storage: 8Gi\n"
        "# -- Extra labels\n"
        "podLabels: {}\n"
        "# -- Tolerations\n"
        "tolerations:\n"
        "  - key: a\n"
    )
    names = [d.name for d in document_values(values)]
    assert names == [
        "image.registry",
        "image.tag",
        "resources",
        "podLabels",
        "tolerations",
    ]
    assert values_table(values).splitlines() == [
        "| value | default | description |",
        "|---|---|---|",
        '| `image.registry` | `"ghcr.io"` | Registry of the image |',
        '| `image.tag` | `""` | Tag \\| or digest, \\<empty\\>: the chart\'s'
        " appVersion |",
        "| `resources` | see values.yaml | Resources of the pod, as one row |",
        "| `podLabels` | `{}` | Extra labels |",
        '| `tolerations` | `[{"key": "a"}]` | Tolerations |',
    ]


def test_readme_gets_a_values_section_and_keeps_the_rest(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "values.yaml").write_text("# -- Replicas\nreplicaCount: 1\n")
    (chart / "README.md").write_text("# chart\n\nProse.\n")
    assert update_readme(chart, check=True) is False
    assert (chart / "README.md").read_text() == "# chart\n\nProse.\n"
    assert update_readme(chart) is False
    first = (chart / "README.md").read_text()
    assert first.startswith("# chart\n\nProse.\n\n## Values\n")
    assert "| `replicaCount` | `1` | Replicas |" in first
    (chart / "values.yaml").write_text("# -- Replicas\nreplicaCount: 3\n")
    (chart / "README.md").write_text(first + "\n## After\n")
    assert update_readme(chart) is False
    second = (chart / "README.md").read_text()
    assert "| `replicaCount` | `3` | Replicas |" in second
    assert second.endswith(f"{END_MARKER}\n\n## After\n")
    assert second.count("## Values") == 1
    assert update_readme(chart, check=True) is True


def test_cli_check_names_a_stale_readme(tmp_path: Path) -> None:
    chart = tmp_path / "tap"
    shutil.copytree(CHARTS_DIR / "tap", chart, ignore=shutil.ignore_patterns("charts"))
    values = chart / "values.yaml"
    values.write_text(values.read_text() + "\n# -- A new value\nnewValue: 1\n")
    runner = CliRunner()
    result = runner.invoke(main, ["chart-readme", "--check", str(chart)])
    assert result.exit_code == 1
    assert f"out of date: {chart / 'README.md'}" in result.output
    result = runner.invoke(main, ["chart-readme", str(chart)])
    assert result.exit_code == 0, result.output
    assert "| `newValue` | `1` | A new value |" in (chart / "README.md").read_text()
    result = runner.invoke(main, ["chart-readme", "--check", str(chart)])
    assert result.exit_code == 0, result.output
