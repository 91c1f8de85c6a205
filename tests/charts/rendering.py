"""Render a chart with the real Helm engine into Kubernetes objects.

The engine is Helm's own Go code, embedded through ``helm_python``: templates,
``values.schema.json`` validation and value coalescing behave as in
``helm template``, without a cluster or a ``helm`` binary.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
from rsp_platform.environments.manifests import (
    KubeObject,
    load_values,
    merge_values,
    sort_objects,
    split_manifests,
)

__all__ = [
    "CHARTS_DIR",
    "REPO_ROOT",
    "KubeObject",
    "RenderedChart",
    "chart_path",
    "lint_chart",
    "load_values",
    "merge_values",
    "render_chart",
    "split_manifests",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Root of the repository."""

CHARTS_DIR = REPO_ROOT / "charts"
"""Where the platform's charts live."""


@dataclass(frozen=True)
class RenderedChart:
    """The objects a chart rendered into, in a stable order."""

    chart: str
    """Name of the chart."""

    objects: list[KubeObject]
    """Every object, sorted by kind, namespace and name."""

    sources: dict[str, str] = field(default_factory=dict)
    """``Kind/name`` of each object -> the template that produced it."""

    seconds: float = 0.0
    """Wall time of the Helm render alone."""

    def of_kind(self, kind: str) -> list[KubeObject]:
        """Every object of ``kind`` (e.g. ``Deployment``)."""
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind: str, name: str | None = None) -> KubeObject:
        """The one object of ``kind`` (and ``name``, if given).

        Raises
        ------
        LookupError
            If there is none, or several and no name was given.
        """
        found = [
            o
            for o in self.of_kind(kind)
            if name is None or o["metadata"]["name"] == name
        ]
        if len(found) != 1:
            names = [o["metadata"]["name"] for o in self.of_kind(kind)]
            raise LookupError(
                f"{len(found)} objects {kind}/{name or '*'} (have {names})"
            )
        return found[0]

    def names(self) -> list[str]:
        """``Kind/name`` of every object, sorted."""
        return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in self.objects)

    def strings(self) -> Iterable[str]:
        """Every string anywhere in the objects, keys included."""
        for obj in self.objects:
            yield from _strings(obj)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def chart_path(chart: str | Path) -> Path:
    """The directory of a chart: a name under ``charts/`` or a path."""
    path = Path(chart)
    if not path.is_absolute() and len(path.parts) == 1:
        path = CHARTS_DIR / path
    if not (path / "Chart.yaml").is_file():
        raise FileNotFoundError(f"no chart at {path}")
    return path


def render_chart(
    chart: str | Path,
    values: Mapping[str, Any] | None = None,
    *,
    values_files: Sequence[Path] = (),
    release: str = "gateway",
    namespace: str = "gateway",
    is_upgrade: bool = False,
) -> RenderedChart:
    """Render a chart as ``helm template`` would and parse the objects.

    Parameters
    ----------
    chart
        Chart name under ``charts/``, or a path to a chart directory.
    values
        Values given last (like ``--set``), over ``values_files``.
    values_files
        Values files applied in order (like ``-f``).
    release
        Release name.
    namespace
        Release namespace.
    is_upgrade
        Render as an upgrade rather than an install.

    Raises
    ------
    helm_python.HelmValuesError
        If the values break the chart's ``values.schema.json``.
    helm_python.HelmRenderError
        If a template fails (including a ``fail`` in the chart).
    """
    path = chart_path(chart)
    layers = [load_values(f) for f in values_files]
    merged = merge_values(*layers, values or {})
    with helm.Chart.load(path) as loaded:
        start = time.perf_counter()
        manifests = loaded.render(
            merged,
            name=release,
            namespace=namespace,
            is_install=not is_upgrade,
            is_upgrade=is_upgrade,
        )
        seconds = time.perf_counter() - start
        name = loaded.name
    pairs = split_manifests(manifests)
    sources = {f"{o['kind']}/{o['metadata']['name']}": t for t, o in pairs}
    objects = sort_objects(o for _, o in pairs)
    return RenderedChart(chart=name, objects=objects, sources=sources, seconds=seconds)


def lint_chart(
    chart: str | Path, values: Mapping[str, Any] | None = None, *, strict: bool = True
) -> list[str]:
    """Run ``helm lint`` and return its warnings and errors (info is dropped).

    With ``strict`` (the default) warnings count, as with ``helm lint --strict``.
    """
    report = helm.lint(
        chart_path(chart), dict(values) if values else None, strict=strict, quiet=True
    )
    problems = [
        f"{m['path']}: {m['error']}"
        for m in report.get("messages", [])
        if m["severity"] >= 2
    ]
    problems.extend(str(e) for e in report.get("errors", []) or [])
    return problems
