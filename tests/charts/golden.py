"""Golden files: rendered objects compared with reviewed copies in ``golden/``.

Run with ``UPDATE_GOLDEN=1`` to (re)write the files instead of comparing,
then review the diff in git like any other change.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from .rendering import KubeObject

__all__ = ["GOLDEN_DIR", "UPDATE_ENV", "compare_golden", "dump_objects", "updating"]

GOLDEN_DIR = Path(__file__).parent / "golden"
"""Where golden files live."""

UPDATE_ENV = "UPDATE_GOLDEN"
"""Environment variable that, set to ``1``, rewrites golden files."""

_HEADER = (
    "# Golden file of rendered objects: compared by the chart tests.\n"
    f"# Regenerate with {UPDATE_ENV}=1 and review the diff.\n"
)


class _GoldenDumper(yaml.SafeDumper):
    """Dumps multi-line strings (config files in ConfigMaps) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoldenDumper.add_representer(str, _represent_str)


def updating() -> bool:
    """Whether golden files are being rewritten in this run."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0")


def dump_objects(objects: Iterable[KubeObject]) -> str:
    """The objects as one YAML stream, in the order given, keys as rendered."""
    return _HEADER + "".join(
        "---\n"
        + yaml.dump(
            obj,
            Dumper=_GoldenDumper,
            sort_keys=False,
            default_flow_style=False,
            width=100,
        )
        for obj in objects
    )


def compare_golden(
    name: str, objects: Iterable[KubeObject], directory: Path = GOLDEN_DIR
) -> None:
    """Compare objects with ``<directory>/<name>.yaml``, or write it when updating.

    Raises
    ------
    AssertionError
        With a unified diff, if the objects differ from the golden file or
        the file is missing.
    """
    path = directory / f"{name}.yaml"
    actual = dump_objects(objects)
    if updating():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    if not path.exists():
        raise AssertionError(f"no golden file {path}; create it with {UPDATE_ENV}=1")
    expected = path.read_text()
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"golden/{path.name}",
            tofile="rendered",
        )
        raise AssertionError(
            f"rendered objects differ from {path} ({UPDATE_ENV}=1 to accept):\n"
            + "".join(diff)
        )
