"""Render and lint the umbrella chart from the service charts' sources.

The umbrella chart names its dependencies ``file://../<service>``. Instead of
packing them (``helm dependency update`` writes ``.tgz`` files), an
:class:`UmbrellaChart` copies the umbrella chart and the source directory of
each dependency that exists into a temporary chart tree, as Helm would find
them unpacked in ``charts/``, and hands that to Helm's own engine
(``helm_python``). Copying takes milliseconds, needs no network and no
committed archives, and always renders what is in the checkout.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .layout import UMBRELLA_CHART, EnvironmentFileError, PlatformLayout
from .manifests import (
    KubeObject,
    load_values,
    merge_values,
    sort_objects,
    split_manifests,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_RELEASE",
    "Dependency",
    "RenderError",
    "RenderedEnvironment",
    "UmbrellaChart",
]

DEFAULT_RELEASE = "science-platform"
"""Release name of an environment (``helm upgrade --install science-platform``)."""

DEFAULT_NAMESPACE = "science-platform"
"""Namespace of the release (each service runs in its own namespace)."""


class RenderError(Exception):
    """Helm could not render or lint the umbrella chart; the message says why."""


@dataclass(frozen=True)
class Dependency:
    """A service chart the umbrella chart depends on."""

    name: str
    """Name of the chart and of its values section."""

    source: Path | None
    """Its directory, for a ``file://`` repository; ``None`` otherwise."""

    condition: str | None
    """Values path that enables it (``gateway.enabled``)."""

    @property
    def present(self) -> bool:
        """Whether the chart's source is in the checkout."""
        return self.source is not None and (self.source / "Chart.yaml").is_file()


@dataclass(frozen=True)
class RenderedEnvironment:
    """Everything an environment renders into."""

    objects: list[KubeObject]
    """Every object, sorted by kind, namespace and name."""

    crds: list[KubeObject]
    """The CustomResourceDefinitions of the chart and its dependencies (``crds/``)."""

    sources: dict[str, str] = field(default_factory=dict)
    """``Kind/namespace/name`` of each object -> the template that made it."""

    seconds: float = 0.0
    """Wall time of assembling and rendering."""

    def of_kind(self, kind: str) -> list[KubeObject]:
        """Every object of ``kind``."""
        return [o for o in self.objects if o.get("kind") == kind]


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


class UmbrellaChart:
    """The umbrella chart of a checkout, with its dependencies from source."""

    def __init__(self, layout: PlatformLayout) -> None:
        self._layout = layout
        chart_file = layout.umbrella_dir / "Chart.yaml"
        if not chart_file.is_file():
            raise EnvironmentFileError(f"no umbrella chart: {chart_file} is missing")
        self._chart = yaml.safe_load(chart_file.read_text()) or {}

    @property
    def directory(self) -> Path:
        """The umbrella chart's source directory."""
        return self._layout.umbrella_dir

    def dependencies(self) -> list[Dependency]:
        """The dependencies ``Chart.yaml`` declares, in its order."""
        found = []
        for entry in self._chart.get("dependencies") or []:
            repository = str(entry.get("repository", ""))
            source = None
            if repository.startswith("file://"):
                source = (self.directory / repository.removeprefix("file://")).resolve()
            found.append(
                Dependency(
                    name=str(entry["name"]),
                    source=source,
                    condition=entry.get("condition"),
                )
            )
        return found

    def default_values(self) -> dict[str, Any]:
        """The umbrella chart's ``values.yaml``."""
        return load_values(self.directory / "values.yaml")

    def effective_defaults(self) -> dict[str, Any]:
        """What an environment gets without a values file: each present
        service chart's ``values.yaml`` under its name, the umbrella chart's
        ``values.yaml`` over them (as Helm coalesces them)."""
        charts = {
            d.name: load_values(d.source / "values.yaml")
            for d in self.dependencies()
            if d.present and d.source is not None
        }
        return merge_values(charts, self.default_values())

    def enabled(self, values: Mapping[str, Any]) -> list[Dependency]:
        """Dependencies whose condition holds with ``values`` over the defaults.

        A dependency without a condition is always enabled, as in Helm.
        """
        merged = merge_values(self.default_values(), values)
        return [
            d
            for d in self.dependencies()
            if d.condition is None or _lookup(merged, d.condition) is True
        ]

    @contextmanager
    def assembled(self) -> Iterator[Path]:
        """A temporary copy of the chart with every present dependency unpacked."""
        with tempfile.TemporaryDirectory(prefix="rsp-umbrella-") as tmp:
            target = Path(tmp) / UMBRELLA_CHART
            shutil.copytree(
                self.directory,
                target,
                ignore=shutil.ignore_patterns("charts", "Chart.lock", ".gitignore"),
            )
            for dependency in self.dependencies():
                if dependency.present and dependency.source is not None:
                    shutil.copytree(
                        dependency.source, target / "charts" / dependency.name
                    )
            absent = {d.name for d in self.dependencies() if not d.present}
            if absent:
                # Helm refuses a chart with a declared dependency missing, even
                # a disabled one; enabled ones were refused before this.
                chart = dict(self._chart)
                chart["dependencies"] = [
                    d
                    for d in chart.get("dependencies") or []
                    if d["name"] not in absent
                ]
                (target / "Chart.yaml").write_text(
                    yaml.safe_dump(chart, sort_keys=False)
                )
            yield target

    def _check_enabled_present(self, values: Mapping[str, Any]) -> None:
        missing = [d for d in self.enabled(values) if not d.present]
        if missing:
            names = ", ".join(f"{d.name} ({d.source})" for d in missing)
            raise RenderError(f"enabled services without a chart: {names}")

    def render(
        self,
        values: Mapping[str, Any],
        *,
        release: str = DEFAULT_RELEASE,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> RenderedEnvironment:
        """Render as ``helm template`` would, with ``values`` over the defaults.

        Raises
        ------
        RenderError
            If an enabled service has no chart, the values break a chart's
            schema, or a template fails.
        """
        import helm_python as helm  # noqa: PLC0415 - only the Helm commands need it

        start = time.perf_counter()
        self._check_enabled_present(values)
        with self.assembled() as path:
            try:
                with helm.Chart.load(path) as chart:
                    manifests = chart.render(
                        dict(values),
                        name=release,
                        namespace=namespace,
                        is_install=True,
                    )
                    crds = [yaml.safe_load(c["data"]) for c in chart.crds]
                pairs = split_manifests(manifests)
            except (helm.HelmError, ValueError, yaml.YAMLError) as e:
                raise RenderError(self._local(str(e), path)) from None
        return RenderedEnvironment(
            objects=sort_objects(o for _, o in pairs),
            crds=[c for c in crds if isinstance(c, dict)],
            sources={
                f"{o['kind']}/{o['metadata'].get('namespace', namespace)}/"
                f"{o['metadata']['name']}": t
                for t, o in pairs
            },
            seconds=time.perf_counter() - start,
        )

    def lint(
        self, values: Mapping[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> list[str]:
        """``helm lint --strict`` of the chart with ``values``: warnings and errors."""
        import helm_python as helm  # noqa: PLC0415 - only the Helm commands need it

        try:
            self._check_enabled_present(values)
        except RenderError as e:
            return [str(e)]
        with self.assembled() as path:
            try:
                report = helm.lint(
                    path, dict(values), strict=True, namespace=namespace, quiet=True
                )
            except helm.HelmError as e:
                return [self._local(str(e), path)]
            problems = [
                self._local(f"{m['path']}: {m['error']}", path)
                for m in report.get("messages", [])
                if m["severity"] >= 2
            ]
            problems.extend(
                self._local(str(e), path) for e in report.get("errors", []) or []
            )
        return problems

    def _local(self, message: str, assembled: Path) -> str:
        """A Helm message naming the checkout's chart, not the temporary copy."""
        return message.replace(str(assembled), str(self.directory))
