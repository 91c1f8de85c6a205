"""What every ingress object the operator makes shares: names, labels, owner."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .model import PlatformIngress

__all__ = [
    "MANAGED_BY",
    "OWNER_UID_LABEL",
    "ROUTE_LABEL",
    "SPEC_HASH_ANNOTATION",
    "child_name",
    "object_metadata",
    "with_spec_hash",
]

MANAGED_BY = "rsp-operator"
"""Value of ``app.kubernetes.io/managed-by`` on every object made."""

OWNER_UID_LABEL = "science-platform.dev/platformingress-uid"
"""Label holding the uid of the ``PlatformIngress`` an object was made for."""

ROUTE_LABEL = "science-platform.dev/route"
"""Label holding the route's name (for people and selectors)."""

SPEC_HASH_ANNOTATION = "science-platform.dev/desired-hash"
"""Annotation with a digest of what the operator wrote; equal means no write."""

_MAX_NAME = 253


def child_name(resource: PlatformIngress, suffix: str = "") -> str:
    """Name of an object made for the resource (a valid DNS subdomain)."""
    name = f"{resource.name}-{suffix}" if suffix else resource.name
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 11].rstrip('-.')}-{digest}"


def object_metadata(
    resource: PlatformIngress, name: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """``metadata`` of an object made for the resource.

    It carries the resource's own annotations, with ``annotations`` (the
    route's access rules) winning over any of the same name.
    """
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": resource.namespace,
        "labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            ROUTE_LABEL: resource.route.name[:63].rstrip("-"),
            OWNER_UID_LABEL: resource.uid,
        },
        "ownerReferences": [resource.owner_reference],
    }
    merged = {**resource.annotations, **(annotations or {})}
    if merged:
        metadata["annotations"] = dict(sorted(merged.items()))
    return metadata


def with_spec_hash(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with :data:`SPEC_HASH_ANNOTATION` set to its digest."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    metadata = obj["metadata"]
    annotations = dict(metadata.get("annotations") or {})
    annotations[SPEC_HASH_ANNOTATION] = digest
    return {**obj, "metadata": {**metadata, "annotations": annotations}}
