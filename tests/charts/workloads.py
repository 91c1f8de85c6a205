"""What the service chart tests share: renders by variant and a simulated pod.

:class:`ChartVariants` renders one chart under named sets of values files
(``default``, ``prod``), and :func:`render_fixtures` makes a test module's
fixtures of those renders. :func:`pod_environment` resolves a rendered
container's environment the way the kubelet does (``secretKeyRef`` from a
Secret, then ``$(VAR)`` expansion), and :func:`stage_pod_config` puts a
workload's configuration file and environment in place, so a test can start
the service's own configuration loader on exactly what its pod would see.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from .rendering import (
    KubeObject,
    RenderedChart,
    load_values,
    merge_values,
    render_chart,
)

__all__ = [
    "ChartVariants",
    "RenderFixtures",
    "container",
    "pod_environment",
    "pod_spec",
    "render_fixtures",
    "stage_pod_config",
]

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class ChartVariants:
    """A chart, its release and namespace, and its named values files."""

    chart: Path
    """Directory of the chart."""

    release: str
    """Release name of every render."""

    namespace: str
    """Release namespace of every render."""

    variants: Mapping[str, Sequence[Path]] = field(
        default_factory=lambda: {"default": ()}
    )
    """Variant name -> values files applied in order (``default``: none)."""

    def render(
        self, variant: str = "default", values: Mapping[str, Any] | None = None
    ) -> RenderedChart:
        """Render a variant, with ``values`` given last (like ``--set``)."""
        return render_chart(
            self.chart,
            values,
            values_files=self.variants[variant],
            release=self.release,
            namespace=self.namespace,
        )

    def values(self, variant: str = "default") -> dict[str, Any]:
        """The variant's values files merged, as Helm merges ``-f`` files."""
        return merge_values(*(load_values(f) for f in self.variants[variant]))

    @property
    def names(self) -> list[str]:
        """The variants' names, sorted (for ``pytest.mark.parametrize``)."""
        return sorted(self.variants)


class RenderFixtures(NamedTuple):
    """Module-scoped fixtures of a chart's renders (see :func:`render_fixtures`)."""

    rendered: object
    """Each variant in turn."""

    prod: object
    """The ``prod`` variant."""

    default: object
    """The ``default`` variant."""


def render_fixtures(charts: ChartVariants) -> RenderFixtures:
    """Fixtures ``rendered`` (every variant), ``prod`` and ``default`` of a chart.

    pytest finds fixtures by the names of a test module's globals, so a module
    takes them as ``rendered, prod, default = render_fixtures(CHART_VARIANTS)``.
    Each render is made once per module.
    """

    @pytest.fixture(scope="module", params=charts.names, name="rendered")
    def rendered(request: pytest.FixtureRequest) -> RenderedChart:
        variant: str = request.param
        return charts.render(variant)

    @pytest.fixture(scope="module", name="prod")
    def prod() -> RenderedChart:
        return charts.render("prod")

    @pytest.fixture(scope="module", name="default")
    def default() -> RenderedChart:
        return charts.render("default")

    return RenderFixtures(rendered, prod, default)


def pod_spec(obj: KubeObject) -> dict[str, Any]:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    result: dict[str, Any] = spec["template"]["spec"]
    return result


def container(obj: KubeObject) -> dict[str, Any]:
    """The one container of a Deployment, Job or CronJob."""
    (only,) = pod_spec(obj)["containers"]
    result: dict[str, Any] = only
    return result


def pod_environment(
    container: Mapping[str, Any], secret_name: str, secret: Mapping[str, str]
) -> dict[str, str]:
    """The environment a container gets, as the kubelet would build it.

    Raises
    ------
    KeyError
        If the container references another Secret, a missing key, or
        something other than a literal value or a ``secretKeyRef``.
    """
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            if ref["name"] != secret_name:
                raise KeyError(f"{var['name']} reads Secret {ref['name']}")
            env[var["name"]] = secret[ref["key"]]
        else:
            value = str(var["value"])
            env[var["name"]] = _REFERENCE.sub(
                lambda m: env.get(m.group(1), m.group(0)), value
            )
    return env


def _stage_secret_volumes(
    main: Mapping[str, Any],
    pod: Mapping[str, Any],
    secret_name: str,
    values: Mapping[str, str],
    tmp_path: Path,
) -> dict[str, Path]:
    """Write the files of the container's volumes of the Secret, as the kubelet.

    Returns mount path -> the directory written. A volume of another Secret
    is not written (its mount paths stay as they are).
    """
    mounts = {m["name"]: m["mountPath"] for m in main.get("volumeMounts") or []}
    staged: dict[str, Path] = {}
    for volume in pod.get("volumes") or []:
        source = volume.get("secret")
        if not source or source.get("secretName") != secret_name:
            continue
        if volume["name"] not in mounts:
            continue
        items = source.get("items") or [{"key": k, "path": k} for k in values]
        local = tmp_path / "mounts" / volume["name"]
        for item in items:
            target = local / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(values[item["key"]])
        staged[mounts[volume["name"]]] = local
    return staged


def stage_pod_config(
    rendered: RenderedChart,
    workload: tuple[str, str],
    *,
    secret: tuple[str, Mapping[str, str]],
    env_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Give this process the configuration a pod of the workload would see.

    The workload's one ConfigMap volume holds one file: it is written under
    ``tmp_path`` and ``<env_prefix>CONFIG_PATH`` points there (after checking
    that the container points at the mounted file). Every other
    ``<env_prefix>*`` variable is replaced by the container's environment,
    resolved with the Secret's values. Volumes of that Secret are written
    under ``tmp_path`` too, and their mount paths in the configuration file
    and the environment replaced by where they were written. Returns that
    environment.

    Parameters
    ----------
    rendered
        The render holding the workload.
    workload
        Kind and name of the Deployment, Job or CronJob.
    secret
        Name and values of the Secret the container reads.
    env_prefix
        Prefix of the service's settings, e.g. ``RSP_TAP_``.
    tmp_path
        Where the configuration file is written.
    monkeypatch
        Sets and clears the environment for the test only.
    """
    obj = rendered.get(*workload)
    main = container(obj)
    pod = pod_spec(obj)
    (config_volume,) = [v for v in pod["volumes"] if "configMap" in v]
    (mount,) = [m for m in main["volumeMounts"] if m["name"] == config_volume["name"]]
    config_map = rendered.get("ConfigMap", config_volume["configMap"]["name"])
    secret_name, values = secret
    env = pod_environment(main, secret_name, values)
    (filename,) = config_map["data"]
    path_var = f"{env_prefix}CONFIG_PATH"
    assert env[path_var] == f"{mount['mountPath']}/{filename}"
    text = config_map["data"][filename]
    for mount_path, local in _stage_secret_volumes(
        main, pod, secret_name, values, tmp_path
    ).items():
        text = text.replace(mount_path, str(local))
        env = {k: v.replace(mount_path, str(local)) for k, v in env.items()}
    config_file = tmp_path / filename
    config_file.write_text(text)
    for var in [v for v in os.environ if v.startswith(env_prefix)]:
        monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv(path_var, str(config_file))
    return env
