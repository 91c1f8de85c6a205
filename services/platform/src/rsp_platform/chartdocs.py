"""The values table of a chart's README, generated from its ``values.yaml``.

Every field of a chart's ``values.yaml`` carries a ``# --`` comment (itself,
or on the section holding it). :func:`values_table` turns those comments
and the defaults into a Markdown table, and :func:`update_readme` keeps it
between two markers in the chart's ``README.md``, so the README lists every
value the chart takes and cannot fall behind (``rsp-platform chart-readme
--check`` fails when it has).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "ValueDoc",
    "document_values",
    "rendered_readme",
    "undocumented_values",
    "update_readme",
    "values_table",
]

BEGIN_MARKER = (
    "<!-- values: generated from values.yaml by rsp-platform chart-readme -->"
)
"""Where the generated table starts in a README."""

END_MARKER = "<!-- end of values -->"
"""Where it ends."""

MAX_DEFAULT_LENGTH = 70
"""Longer defaults are left to values.yaml rather than written in the table."""

_KEY = re.compile(
    r"""^(?P<indent> *)(?P<key>"[^"]+"|'[^']+'|[^\s#:][^:#]*?):(?P<rest>.*)$"""
)


@dataclass(frozen=True)
class ValueDoc:
    """One documented field of a values file."""

    name: str
    """Dotted path of the field."""

    description: str
    """Its ``# --`` comment, as one line."""

    default: Any
    """Its value in the file."""


def _lookup(values: Any, path: list[str]) -> Any:
    for key in path:
        values = values.get(key) if isinstance(values, dict) else None
    return values


@dataclass(frozen=True)
class _Field:
    """A field of a values file as the line scanner sees it."""

    keys: list[str]
    inline_value: str
    comment: list[str]
    documented: bool
    under_documented: bool


def _scan_fields(text: str) -> list[_Field]:
    """Every field of a values file with the comment block right above it.

    A field is documented when that block starts with ``# --``; list items
    belong to their field.
    """
    fields: list[_Field] = []
    stack: list[tuple[int, str, bool]] = []  # indent, key, documented
    comment: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        if not stripped or stripped.startswith("-"):
            comment = [] if not stripped else comment
            continue
        match = _KEY.match(line)
        if match is None:
            comment = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = match["key"].strip("\"'")
        documented = bool(comment) and comment[0].startswith("# --")
        fields.append(
            _Field(
                keys=[*(s[1] for s in stack), key],
                inline_value=match["rest"].split(" #", 1)[0].strip(),
                comment=comment,
                documented=documented,
                under_documented=any(s[2] for s in stack),
            )
        )
        stack.append((indent, key, documented))
        comment = []
    return fields


def document_values(path: Path) -> list[ValueDoc]:
    """The fields of a values file that carry a ``# --`` comment, in order.

    A field under a documented section is part of that section's row.
    """
    text = path.read_text()
    values = yaml.safe_load(text) or {}
    docs: list[ValueDoc] = []
    for field in _scan_fields(text):
        if field.documented and not field.under_documented:
            words = [c.lstrip("#").strip() for c in field.comment]
            words[0] = words[0].removeprefix("--").strip()
            docs.append(
                ValueDoc(
                    ".".join(field.keys),
                    " ".join(w for w in words if w),
                    _lookup(values, field.keys),
                )
            )
    return docs


def undocumented_values(path: Path) -> list[str]:
    """Dotted names of fields with a value but no ``# --`` comment.

    A field is covered by its own comment or by a section that holds it.
    """
    return [
        ".".join(field.keys)
        for field in _scan_fields(path.read_text())
        if field.inline_value and not (field.documented or field.under_documented)
    ]


def _default(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if len(shown) > MAX_DEFAULT_LENGTH:
        return "see values.yaml"
    return f"`{shown}`"


def values_table(path: Path) -> str:
    """The Markdown table of a values file's documented fields."""
    rows = ["| value | default | description |", "|---|---|---|"]
    for doc in document_values(path):
        description = (
            doc.description.replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")
        )
        rows.append(f"| `{doc.name}` | {_default(doc.default)} | {description} |")
    return "\n".join(rows) + "\n"


def rendered_readme(chart_dir: Path) -> str:
    """The chart's README with its values table as ``values.yaml`` makes it.

    The table replaces what lies between the markers; a README without them
    gets a ``Values`` section at its end.
    """
    readme = (chart_dir / "README.md").read_text()
    block = f"{BEGIN_MARKER}\n{values_table(chart_dir / 'values.yaml')}{END_MARKER}"
    if BEGIN_MARKER in readme and END_MARKER in readme:
        head, _, rest = readme.partition(BEGIN_MARKER)
        _, _, tail = rest.partition(END_MARKER)
        return f"{head}{block}{tail}"
    return (
        f"{readme.rstrip()}\n\n## Values\n\nEvery value the chart takes, from"
        f" [values.yaml](values.yaml):\n\n{block}\n"
    )


def update_readme(chart_dir: Path, *, check: bool = False) -> bool:
    """Bring the chart's README table up to date (or, with ``check``, only
    say whether it is); answers whether it was up to date."""
    path = chart_dir / "README.md"
    wanted = rendered_readme(chart_dir)
    if path.read_text() == wanted:
        return True
    if not check:
        path.write_text(wanted)
    return False
