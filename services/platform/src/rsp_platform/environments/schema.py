"""The committed JSON schemas of environment values, generated from the model.

Two files, both from :class:`~.model.EnvironmentValues`:

``environments/values.schema.json``
    What an environment file may hold; editors and ``rsp-platform env lint``
    use it. A service's section is open beyond ``enabled``: its keys are the
    service chart's, checked by that chart's schema.
``charts/science-platform/values.schema.json``
    The umbrella chart's schema, which Helm applies on every install: the
    same, except that each service section is left entirely to the service
    chart's own schema (Helm validates each subchart with its own).

Both are written by ``rsp-platform env schema`` and compared with the model
by ``rsp-platform env schema --check`` and the tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .model import SERVICES, EnvironmentValues

__all__ = [
    "environment_schema",
    "schema_text",
    "stale_schemas",
    "umbrella_schema",
    "write_schemas",
]

_DRAFT = "http://json-schema.org/draft-07/schema#"


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """Replace every ``$ref`` to ``#/$defs/...`` with the definition itself."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline(
                copy.deepcopy(definitions[ref.removeprefix("#/$defs/")]), definitions
            )
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return {**target, **_inline(extra, definitions)}
        return {k: _inline(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _without_titles(node: Any) -> Any:
    """Drop pydantic's generated titles (strings; a property named title is a dict)."""
    if isinstance(node, dict):
        return {
            k: _without_titles(v)
            for k, v in node.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    return node


def environment_schema() -> dict[str, Any]:
    """JSON schema of an environment values file."""
    raw = EnvironmentValues.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.pop("$defs", {})
    schema = _without_titles(_inline(raw, definitions))
    schema.pop("title", None)
    schema["description"] = (
        "environments/values-<name>.yaml: what differs in one environment;"
        " a service's section beyond enabled is checked by its chart's schema"
    )
    return {
        "$schema": _DRAFT,
        "title": "Values of one environment of the science platform",
        **schema,
    }


def umbrella_schema() -> dict[str, Any]:
    """JSON schema of the umbrella chart's values (Helm checks it)."""
    schema = environment_schema()
    schema["title"] = "Values of the science-platform umbrella chart"
    schema["description"] = (
        "The umbrella chart's own values; each service's section is checked"
        " by that chart's schema"
    )
    for name in SERVICES:
        section = schema["properties"][name]
        schema["properties"][name] = {
            "type": "object",
            "description": section["description"],
            "additionalProperties": {
                "description": f"Checked by the {name} chart's own values.schema.json"
            },
        }
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as committed: two-space JSON, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _targets(environments_dir: Path, umbrella_dir: Path) -> dict[Path, str]:
    return {
        environments_dir / "values.schema.json": schema_text(environment_schema()),
        umbrella_dir / "values.schema.json": schema_text(umbrella_schema()),
    }


def stale_schemas(environments_dir: Path, umbrella_dir: Path) -> list[Path]:
    """Committed schema files that are missing or differ from the model."""
    return [
        path
        for path, text in _targets(environments_dir, umbrella_dir).items()
        if not path.is_file() or path.read_text() != text
    ]


def write_schemas(environments_dir: Path, umbrella_dir: Path) -> list[Path]:
    """Write both schema files from the model; the paths written."""
    targets = _targets(environments_dir, umbrella_dir)
    for path, text in targets.items():
        path.write_text(text)
    return list(targets)
