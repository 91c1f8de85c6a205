"""The umbrella chart: its dependencies, conventions and the shared global values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from rsp_platform.environments.manifests import sort_objects, split_manifests
from rsp_platform.environments.model import SERVICES, GlobalValues
from rsp_platform.environments.umbrella import UmbrellaChart

from tests.charts.conventions import (
    open_schema_objects,
    schema_values_mismatch,
    undocumented_values,
)
from tests.charts.policy import pod_specs
from tests.charts.rendering import CHARTS_DIR, load_values, render_chart
from tests.environments.support import LAYOUT, rendered

pytestmark = pytest.mark.helm

UMBRELLA = LAYOUT.umbrella_dir
GLOBAL_KEYS = {f.alias or n for n, f in GlobalValues.model_fields.items()}
# Images that are not the platform's own keep their registry and tag.
THIRD_PARTY_IMAGES = ("configurable-http-proxy",)


def _chart(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((path / "Chart.yaml").read_text())
    return data


def test_dependencies_are_the_service_charts_from_source() -> None:
    dependencies = _chart(UMBRELLA)["dependencies"]
    assert [d["name"] for d in dependencies] == list(SERVICES)
    for dependency in dependencies:
        name = dependency["name"]
        assert dependency["repository"] == f"file://../{name}"
        assert dependency["condition"] == f"{name}.enabled"
    on_disk = {p.parent.name for p in CHARTS_DIR.glob("*/Chart.yaml")} - {UMBRELLA.name}
    assert on_disk == set(SERVICES)
    assert not list(UMBRELLA.rglob("*.tgz")), "packed dependencies are not committed"


def test_umbrella_follows_the_chart_conventions() -> None:
    assert undocumented_values(UMBRELLA / "values.yaml") == []
    schema = json.loads((UMBRELLA / "values.schema.json").read_text())
    assert list(open_schema_objects(schema)) == []
    assert schema_values_mismatch(schema, load_values(UMBRELLA / "values.yaml")) == []
    assert UmbrellaChart(LAYOUT).lint({}) == []


def test_umbrella_defaults_are_the_local_environment() -> None:
    defaults = UmbrellaChart(LAYOUT).default_values()
    assert defaults["global"] == {
        **LAYOUT.environment("local").values["global"],
        "imageRegistry": "",
        "imageTag": "",
        "ingressFlavour": "nginx",
    }


@pytest.mark.parametrize("chart", SERVICES)
def test_service_chart_accepts_exactly_the_global_keys(chart: str) -> None:
    values = load_values(CHARTS_DIR / chart / "values.yaml")
    schema = json.loads((CHARTS_DIR / chart / "values.schema.json").read_text())
    assert set(values["global"]) == GLOBAL_KEYS
    assert set(schema["properties"]["global"]["properties"]) == GLOBAL_KEYS
    assert schema["properties"]["global"]["additionalProperties"] is False
    assert values["enabled"] is True
    assert schema["properties"]["enabled"]["type"] == "boolean"


GLOBALS = {
    "host": "platform.example.org",
    "baseUrl": "https://platform.example.org",
    "environment": "idfdev",
    "imageRegistry": "registry.example.org/platform",
    "imageTag": "9.8.7",
}


# What a chart needs outside the local environment (global.environment idfdev).
OUTSIDE_LOCAL: dict[str, dict[str, Any]] = {
    "gateway": {
        "config": {"devLogin": False},
        "github": {"enabled": True, "clientId": "Iv1.0123456789abcdef"},
    },
    "tap": {"resultStorage": {"type": "gcs", "bucket": "results"}},
}


@pytest.mark.parametrize("chart", SERVICES)
def test_service_chart_honours_the_global_values(chart: str) -> None:
    """Like the gateway: images from global.imageRegistry and global.imageTag,
    URLs and routes on global.baseUrl and global.host."""
    values: dict[str, Any] = {"global": GLOBALS, **OUTSIDE_LOCAL.get(chart, {})}
    rendered = render_chart(chart, values, release=chart, namespace=chart)
    images = [
        c["image"]
        for site in pod_specs(rendered.objects)
        for c in [
            *site.spec.get("containers", []),
            *site.spec.get("initContainers", []),
        ]
        if not any(t in c["image"] for t in THIRD_PARTY_IMAGES)
    ]
    assert images
    for image in images:
        assert image.startswith("registry.example.org/platform/"), image
        assert image.endswith(":9.8.7"), image
    text = yaml.safe_dump(rendered.objects)
    assert "localhost" not in text
    for route in rendered.of_kind("PlatformIngress"):
        assert route["spec"].get("host", GLOBALS["host"]) == GLOBALS["host"]
    assert "https://platform.example.org" in text


def test_packed_dependencies_render_the_same_objects(tmp_path: Path) -> None:
    """What operators run (helm dependency update, then install from the
    packed chart) renders exactly what rsp-platform env render shows."""
    shutil.copytree(
        CHARTS_DIR, tmp_path / "charts", ignore=shutil.ignore_patterns("charts")
    )
    umbrella = tmp_path / "charts" / UMBRELLA.name
    helm.dependency_update(umbrella)
    assert sorted(p.name for p in (umbrella / "charts").iterdir()) == sorted(
        f"{name}-{_chart(CHARTS_DIR / name)['version']}.tgz" for name in SERVICES
    )
    values = LAYOUT.environment("idfprod").values
    with helm.Chart.load(umbrella) as chart:
        manifests = chart.render(
            values,
            name="science-platform",
            namespace="science-platform",
            is_install=True,
        )
    packed = sort_objects(o for _, o in split_manifests(manifests))
    assert packed == rendered("idfprod").objects
