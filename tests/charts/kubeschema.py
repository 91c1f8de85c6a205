"""Validate rendered objects against the Kubernetes OpenAPI schemas, strictly.

Built-in kinds are checked with ``kubernetes-validate`` in strict mode (an
unknown field is an error, as ``kubectl apply --validate=strict`` would say).
Custom resources have no schema there: they go to a
:data:`CustomResourceValidator` hook, for example one built from the charts'
CRDs with :func:`crd_validator`, or are reported as skipped.
:func:`assert_valid` checks the platform's own custom resources
(``PlatformIngress``, ``ServiceToken``) against the CRDs in
``charts/operator/crds`` unless given another hook.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import kubernetes_validate
import yaml

from .rendering import CHARTS_DIR, KubeObject

__all__ = [
    "BUILTIN_API_GROUPS",
    "KUBERNETES_VERSION",
    "PLATFORM_CRDS_DIR",
    "CustomResourceValidator",
    "SchemaReport",
    "assert_valid",
    "crd_validator",
    "describe",
    "is_builtin",
    "platform_crd_validator",
    "platform_crds",
    "validate_objects",
]

KUBERNETES_VERSION = "1.35"
"""Kubernetes version whose schemas the objects must meet (GKE regular channel)."""

BUILTIN_API_GROUPS: frozenset[str] = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
"""API groups served by Kubernetes itself; anything else is a custom resource.

``gateway.networking.k8s.io`` (Gateway API) is deliberately absent: it is
installed as CRDs.
"""

type CustomResourceValidator = Callable[[KubeObject], list[str] | None]
"""Checks one custom resource: problems found, or ``None`` if it cannot judge it."""

PLATFORM_CRDS_DIR = CHARTS_DIR / "operator" / "crds"
"""The CRDs of the platform's own custom resources (the operator's chart)."""


@dataclass
class SchemaReport:
    """Outcome of validating a set of objects."""

    problems: list[str] = field(default_factory=list)
    """One message per invalid field, naming the object and the path."""

    validated: list[str] = field(default_factory=list)
    """``Kind/name`` of every object checked against a schema."""

    skipped: list[str] = field(default_factory=list)
    """``Kind/name`` of custom resources no schema was available for."""


def describe(obj: KubeObject) -> str:
    """``Kind/name`` of an object, for messages."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def is_builtin(obj: KubeObject) -> bool:
    """Whether the object's API group is served by Kubernetes itself."""
    return _group(str(obj.get("apiVersion", ""))) in BUILTIN_API_GROUPS


def _path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(object)"


def validate_objects(
    objects: Iterable[KubeObject],
    *,
    version: str = KUBERNETES_VERSION,
    custom_resources: CustomResourceValidator | None = None,
) -> SchemaReport:
    """Validate every object; never raises for an invalid object.

    Parameters
    ----------
    objects
        Parsed Kubernetes objects.
    version
        Kubernetes ``major.minor`` whose schemas apply.
    custom_resources
        Hook for objects outside :data:`BUILTIN_API_GROUPS`; without it (or
        when it answers ``None``) they are listed in ``skipped``.
    """
    report = SchemaReport()
    for obj in objects:
        name = describe(obj)
        if not is_builtin(obj):
            found = custom_resources(obj) if custom_resources else None
            if found is None:
                report.skipped.append(name)
            else:
                report.validated.append(name)
                report.problems.extend(f"{name}: {p}" for p in found)
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            report.problems.append(f"{name}: {_path(e.absolute_path)}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            report.problems.append(
                f"{name}: Kubernetes {version} has no {obj['kind']}"
                f" in {obj['apiVersion']}"
            )
        else:
            report.validated.append(name)
    return report


def assert_valid(
    objects: Iterable[KubeObject],
    *,
    version: str = KUBERNETES_VERSION,
    custom_resources: CustomResourceValidator | None = None,
) -> SchemaReport:
    """Like :func:`validate_objects`, but fail with every problem listed.

    Without a hook, the platform's custom resources are checked against
    their CRDs (:func:`platform_crd_validator`); others are skipped.
    """
    report = validate_objects(
        objects,
        version=version,
        custom_resources=custom_resources or platform_crd_validator(),
    )
    if report.problems:
        raise AssertionError(
            "objects invalid against the Kubernetes schemas:\n  "
            + "\n  ".join(report.problems)
        )
    return report


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Turn a CRD's structural OpenAPI schema into a strict JSON schema.

    Unknown fields are refused unless ``x-kubernetes-preserve-unknown-fields``
    allows them, ``nullable`` admits ``null`` and
    ``x-kubernetes-int-or-string`` admits both types, as the API server does.
    """
    schema = dict(schema)
    if schema.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in schema:
        schema["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _strict(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        schema["items"] = _strict(schema["items"])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in schema:
            schema[keyword] = [_strict(s) for s in schema[keyword]]
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    return schema


def crd_validator(crds: Iterable[KubeObject]) -> CustomResourceValidator:
    """A hook validating custom resources against the schemas of these CRDs.

    Resources of a group and kind no CRD defines are left to the caller
    (the hook answers ``None``); a version the CRD does not serve, or one
    without a schema, is a problem.
    """
    schemas: dict[tuple[str, str], dict[str, dict[str, Any] | None]] = {}
    for crd in crds:
        spec = crd["spec"]
        versions: dict[str, dict[str, Any] | None] = {}
        for served in spec["versions"]:
            if not served.get("served", True):
                continue
            openapi = served.get("schema", {}).get("openAPIV3Schema")
            if openapi is None:
                versions[served["name"]] = None
                continue
            strict = _strict(copy.deepcopy(openapi))
            # apiVersion, kind and metadata are checked by the API server itself.
            strict.setdefault("properties", {})
            for key in ("apiVersion", "kind", "metadata"):
                strict["properties"].setdefault(key, {})
            versions[served["name"]] = strict
        schemas[(spec["group"], spec["names"]["kind"])] = versions

    def validate(obj: KubeObject) -> list[str] | None:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        versions = schemas.get((group, str(obj.get("kind"))))
        if versions is None:
            return None
        if version not in versions:
            return [f"the CRD serves no version {version} (serves {sorted(versions)})"]
        schema = versions[version]
        if schema is None:
            return [f"the CRD has no schema for version {version}"]
        return [
            f"{_path(e.instance_path)}: {e.message}"
            for e in jsonschema_rs.iter_errors(schema, obj, draft=jsonschema_rs.Draft4)
        ]

    return validate


def platform_crds() -> list[KubeObject]:
    """The CustomResourceDefinitions in :data:`PLATFORM_CRDS_DIR`."""
    crds: list[KubeObject] = []
    for path in sorted(PLATFORM_CRDS_DIR.glob("*.yaml")):
        crds.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return crds


@functools.cache
def platform_crd_validator() -> CustomResourceValidator:
    """A hook checking the platform's custom resources against their CRDs."""
    return crd_validator(platform_crds())
