"""Checks of rendered objects: golden files, Kubernetes and CRD schemas.

Reuses the repository's chart-test helpers (``tests/charts``): the same
golden-file format and ``UPDATE_GOLDEN=1``, and the same strict validation
of built-in kinds against the Kubernetes OpenAPI schemas and of custom
resources against their CRDs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

from tests.charts.golden import compare_golden  # noqa: E402
from tests.charts.kubeschema import (  # noqa: E402
    SchemaReport,
    assert_valid,
    crd_validator,
)
from tests.charts.rendering import render_chart  # noqa: E402

__all__ = [
    "CRD_PATH",
    "GOLDEN_DIR",
    "REPO_ROOT",
    "assert_golden",
    "assert_kubernetes_valid",
    "platform_ingress_problems",
    "render_chart",
]

GOLDEN_DIR = Path(__file__).parent.parent / "golden"
CRD_PATH = REPO_ROOT / "charts" / "operator" / "crds" / "platformingresses.yaml"


def assert_golden(name: str, objects: Iterable[dict[str, Any]]) -> None:
    """Compare with ``operator/tests/golden/<name>.yaml`` (``UPDATE_GOLDEN=1``)."""
    compare_golden(name, objects, GOLDEN_DIR)


def assert_kubernetes_valid(objects: Iterable[dict[str, Any]]) -> SchemaReport:
    """Every built-in object valid (strict) against the Kubernetes schemas."""
    return assert_valid(objects)


def platform_ingress_problems(body: dict[str, Any]) -> list[str]:
    """What the CRD's OpenAPI schema finds wrong with a PlatformIngress.

    (The API server also runs the CRD's CEL rules; JSON schema does not.)
    """
    crd = yaml.safe_load(CRD_PATH.read_text())
    problems = crd_validator([crd])(body)
    assert problems is not None, "the CRD does not define PlatformIngress"
    return problems
