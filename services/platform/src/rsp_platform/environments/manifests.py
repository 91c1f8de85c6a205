"""Values files and Helm's rendered manifests as plain data.

Shared by the environment tooling and the chart tests (``tests/charts``):
reading values files, merging them as Helm does, and turning Helm's
``template -> YAML`` output into sorted Kubernetes objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "KubeObject",
    "describe",
    "dump_objects",
    "load_values",
    "merge_values",
    "sort_objects",
    "split_manifests",
]

type KubeObject = dict[str, Any]
"""One Kubernetes object as parsed from YAML."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: parsing a whole environment's
output is ten times faster than with the pure-Python loader."""


def describe(obj: KubeObject) -> str:
    """``Kind/name`` of an object, for messages."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def load_values(path: Path) -> dict[str, Any]:
    """Read a values file (YAML mapping; an empty file is ``{}``).

    Raises
    ------
    ValueError
        If the file is not YAML or not a mapping.
    """
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not YAML: {e}") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ValueError(f"{path}: values must be a mapping, not {kind}")  # noqa: TRY004
    return data


def merge_values(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge values as ``helm -f a.yaml -f b.yaml`` does: maps deeply, later wins."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            current = merged.get(key)
            if isinstance(current, dict) and isinstance(value, Mapping):
                merged[key] = merge_values(current, value)
            elif isinstance(value, Mapping):
                merged[key] = merge_values(value)
            else:
                merged[key] = value
    return merged


def split_manifests(manifests: Mapping[str, str]) -> list[tuple[str, KubeObject]]:
    """Parse Helm's ``template path -> YAML stream`` into ``(template, object)`` pairs.

    Non-YAML outputs (``NOTES.txt``) and empty documents are left out.

    Raises
    ------
    ValueError
        If a template produced YAML that does not parse, or a document that
        is not a Kubernetes object (no ``apiVersion``, ``kind`` or name).
    """
    pairs: list[tuple[str, KubeObject]] = []
    for template, text in sorted(manifests.items()):
        if not template.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            documents = list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError as e:
            raise ValueError(f"{template} rendered invalid YAML: {e}") from e
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict) or not {"apiVersion", "kind"} <= set(
                document
            ):
                raise ValueError(
                    f"{template} rendered a document that is not an object"
                )
            if not document.get("metadata", {}).get("name"):
                raise ValueError(
                    f"{template} rendered a {document['kind']} without a name"
                )
            pairs.append((template, document))
    return pairs


def _sort_key(obj: KubeObject) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def sort_objects(objects: Iterable[KubeObject]) -> list[KubeObject]:
    """Objects sorted by kind, namespace and name (a stable, reviewable order)."""
    return sorted(objects, key=_sort_key)


class _Dumper(yaml.SafeDumper):
    """Dumps multi-line strings (config files in ConfigMaps) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_objects(objects: Iterable[KubeObject]) -> str:
    """The objects as one YAML stream (``---`` before each), keys as rendered."""
    return "".join(
        "---\n"
        + yaml.dump(
            obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
        )
        for obj in objects
    )
