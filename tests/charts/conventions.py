"""The platform's conventions for chart files, checked for any chart.

- ``values.yaml`` is documented field by field: every field carries a
  ``# --`` comment, itself or on the section that holds it.
- ``values.schema.json`` refuses unknown keys at every level and describes
  every field that ``values.yaml`` has, and no other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rsp_platform.chartdocs import undocumented_values

__all__ = ["open_schema_objects", "schema_values_mismatch", "undocumented_values"]


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
