"""Golden files of the objects a user's lab gets.

Run with ``UPDATE_GOLDEN=1`` to rewrite them, then review the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["GOLDEN_DIR", "compare_golden"]

GOLDEN_DIR = Path(__file__).parent.parent / "golden"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the discovery document) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def compare_golden(name: str, manifest: Any) -> None:
    """Compare a manifest with ``golden/<name>.yaml`` (or rewrite it)."""
    text = (
        "# Golden file: regenerate with UPDATE_GOLDEN=1 and review the diff.\n"
        + yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, width=100)
    )
    path = GOLDEN_DIR / f"{name}.yaml"
    if os.environ.get("UPDATE_GOLDEN", "") not in ("", "0"):
        path.write_text(text)
        return
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    expected = path.read_text()
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                "golden",
                "built",
            )
        )
        raise AssertionError(f"{name} differs from its golden file:\n{diff}")
