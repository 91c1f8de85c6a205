"""What the environment tests share: the checkout, renders, CRD validation."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import yaml
from rsp_platform.environments.layout import PlatformLayout
from rsp_platform.environments.manifests import KubeObject
from rsp_platform.environments.umbrella import RenderedEnvironment, UmbrellaChart

from tests.charts.kubeschema import CustomResourceValidator, crd_validator
from tests.charts.rendering import REPO_ROOT

__all__ = [
    "CRD_FIXTURES_DIR",
    "ENVIRONMENTS",
    "LAYOUT",
    "copy_checkout",
    "custom_resource_validator",
    "fixture_crds",
    "rendered",
]

LAYOUT = PlatformLayout.of(REPO_ROOT)
"""The checkout under test."""

ENVIRONMENTS: list[str] = [e.name for e in LAYOUT.environments()]
"""Every environment of the checkout."""

CRD_FIXTURES_DIR = Path(__file__).parent / "crds"
"""Minimal CRDs of the third-party custom resources (see its README)."""


def fixture_crds() -> list[KubeObject]:
    """The CRDs in :data:`CRD_FIXTURES_DIR`."""
    crds: list[KubeObject] = []
    for path in sorted(CRD_FIXTURES_DIR.glob("*.yaml")):
        crds.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return crds


@functools.cache
def rendered(name: str) -> RenderedEnvironment:
    """Environment ``name`` rendered once per test session."""
    return UmbrellaChart(LAYOUT).render(LAYOUT.environment(name).values)


def custom_resource_validator(render: RenderedEnvironment) -> CustomResourceValidator:
    """Validates custom resources against the CRDs the environment ships
    (``crds/`` of its charts) and the third-party fixtures."""
    return crd_validator([*render.crds, *fixture_crds()])


def copy_checkout(target: Path) -> PlatformLayout:
    """A copy of the checkout's charts and environments, to break in a test."""
    shutil.copytree(
        LAYOUT.charts_dir,
        target / "charts",
        ignore=shutil.ignore_patterns("charts", "Chart.lock"),
    )
    shutil.copytree(LAYOUT.environments_dir, target / "environments")
    return PlatformLayout.of(target)
