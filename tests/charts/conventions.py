"""The platform's conventions for chart files, checked for any chart.

- ``values.yaml`` is documented field by field: every field carries a
  ``# --`` comment, itself or on the section that holds it.
- ``values.schema.json`` refuses unknown keys at every level and describes
  every field that ``values.yaml`` has, and no other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["open_schema_objects", "schema_values_mismatch", "undocumented_values"]

_KEY = re.compile(
    r"""^(?P<indent> *)(?P<key>"[^"]+"|'[^']+'|[^\s#:][^:#]*?):(?P<rest>.*)$"""
)


def undocumented_values(path: Path) -> list[str]:
    """Dotted names of fields in a values file without a ``# --`` comment.

    A field is documented when the comment block right above it starts with
    ``# --``, or when a section that holds it is. List items are part of
    their field.
    """
    missing: list[str] = []
    stack: list[tuple[int, str, bool]] = []  # indent, name, documented
    comment: list[str] = []
    for line in path.read_text().splitlines():
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
        documented = bool(comment) and comment[0].startswith("# --")
        name = ".".join([*(s[1] for s in stack), match["key"].strip("\"'")])
        value = match["rest"].split(" #", 1)[0].strip()
        covered = documented or any(s[2] for s in stack)
        if value and not covered:
            missing.append(name)
        stack.append((indent, match["key"].strip("\"'"), documented))
        comment = []
    return missing


def open_schema_objects(schema: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """Paths of object schemas that would accept keys they do not declare.

    An object with ``properties`` must set ``additionalProperties: false``; a
    free-form map must type its values (``additionalProperties: {...}``).
    """
    where = path or "(values)"
    if schema.get("type") == "object" or "properties" in schema:
        extra = schema.get("additionalProperties", True)
        closed = (
            extra is False if "properties" in schema else isinstance(extra, Mapping)
        )
        if not closed:
            yield where
    for key, sub in (schema.get("properties") or {}).items():
        yield from open_schema_objects(sub, f"{path}.{key}" if path else key)
    for keyword in ("items", "additionalProperties"):
        sub = schema.get(keyword)
        if isinstance(sub, Mapping):
            yield from open_schema_objects(sub, f"{path}[]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(keyword) or []:
            yield from open_schema_objects(sub, path)


def schema_values_mismatch(
    schema: Mapping[str, Any], values: Mapping[str, Any], path: str = ""
) -> list[str]:
    """Fields that the schema declares and ``values.yaml`` lacks, or the reverse.

    Free-form maps (no ``properties``) are not compared key by key.
    """
    problems: list[str] = []
    declared = schema.get("properties") or {}
    for key in sorted(set(declared) | set(values)):
        where = f"{path}.{key}" if path else key
        if key not in values:
            problems.append(f"{where}: in the schema, not in values.yaml")
        elif key not in declared:
            problems.append(f"{where}: in values.yaml, not in the schema")
        elif isinstance(values[key], Mapping) and "properties" in declared[key]:
            problems.extend(schema_values_mismatch(declared[key], values[key], where))
    return problems
