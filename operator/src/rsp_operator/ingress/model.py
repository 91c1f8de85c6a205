"""The ``PlatformIngress`` resource as the operator reads it.

A resource's ``spec`` is a route of :mod:`rsp_platform.routing` (the same
field names, camelCase, the same defaults) plus where it runs in the cluster:
``backend`` (the Service), ``host`` and ``tlsSecretName``. The route part is
validated by :class:`rsp_platform.routing.Route` itself, so a resource obeys
exactly the rules the route table obeys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from rsp_platform.routing import Access, Match, Route

from .. import GROUP, VERSION

__all__ = [
    "KIND",
    "PLURAL",
    "Backend",
    "MalformedResourceError",
    "ObjectRef",
    "PlatformIngress",
    "parse_platform_ingress",
]

KIND = "PlatformIngress"
"""``kind`` of the resource."""

PLURAL = "platformingresses"
"""Plural name of the resource in the API."""

_OWN_FIELDS = ("host", "backend", "tlsSecretName")
"""Fields of the spec that are not the route's."""

_ROUTE_NAME = re.compile(r"[^a-z0-9-]+")

_PRIVATE_ANNOTATION_PREFIXES = (
    "kopf.zalando.org/",
    "kubectl.kubernetes.io/",
    "meta.helm.sh/",
    "science-platform.dev/",
)
"""Annotations of a resource that belong to tools, not to its ingress objects."""


class MalformedResourceError(ValueError):
    """The resource cannot be turned into ingress objects; says why.

    Retrying does not help: only a change of the resource does.
    """


class _Spec(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class Backend(_Spec):
    """The Service in the resource's namespace that serves the route."""

    service: Annotated[
        str, Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    ]
    port: Annotated[int, Field(ge=1, le=65535)]


class _Placement(_Spec):
    """The non-route part of a spec."""

    host: Annotated[
        str | None,
        Field(
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
            max_length=253,
        ),
    ] = None
    backend: Backend
    tls_secret_name: Annotated[str | None, Field(min_length=1, max_length=253)] = None


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An object the operator made for a resource."""

    api_version: str
    kind: str
    name: str

    def to_status(self) -> dict[str, str]:
        """The entry of ``status.objects``."""
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}


@dataclass(frozen=True, slots=True)
class PlatformIngress:
    """A parsed, valid ``PlatformIngress``."""

    name: str
    namespace: str
    uid: str
    generation: int
    route: Route
    backend: Backend
    host: str | None
    tls_secret_name: str | None
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The resource's own annotations, passed on to the objects made for it
    (``cert-manager.io/cluster-issuer``, timeouts...); the route's access
    annotations win over them."""

    @property
    def main_route(self) -> Route:
        """The route without its anonymous sub-paths."""
        return self.route.model_copy(update={"anonymous_paths": ()})

    @property
    def anonymous_route(self) -> Route | None:
        """The route's anonymous sub-paths as one anonymous route, if any.

        Its ``path`` is the first sub-path; :attr:`anonymous_paths` has all.
        """
        if not self.route.anonymous_paths:
            return None
        return Route(
            name=f"{self.route.name}-anonymous",
            path=self.anonymous_paths[0],
            match=Match.EXACT,
            service=self.route.service,
            description=f"{self.route.description}: anonymous sub-paths",
            access=Access.ANONYMOUS,
        )

    @property
    def anonymous_paths(self) -> list[str]:
        """Full paths of the anonymous sub-paths (exact matches)."""
        base = self.route.path.rstrip("/")
        return [f"{base}/{sub}" for sub in self.route.anonymous_paths]

    @property
    def owner_reference(self) -> dict[str, Any]:
        """Owner reference making each ingress object go with the resource."""
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def _route_name(name: str) -> str:
    """A route name (``[a-z][a-z0-9-]*``) for a resource name (DNS subdomain)."""
    cleaned = _ROUTE_NAME.sub("-", name.lower()).strip("-") or "route"
    return cleaned if cleaned[0].isalpha() else f"r-{cleaned}"


def _problems(error: ValidationError, prefix: str) -> list[str]:
    lines = []
    for err in error.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return lines


def parse_platform_ingress(body: Mapping[str, Any]) -> PlatformIngress:
    """Read a ``PlatformIngress`` object (as the API returns it).

    Raises
    ------
    MalformedResourceError
        Naming every field that breaks the CRD's or the route table's rules.
    """
    metadata = body.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if not name:
        raise MalformedResourceError("metadata.name: missing")
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        raise MalformedResourceError("spec: missing or not an object")
    own = {k: spec[k] for k in _OWN_FIELDS if k in spec}
    try:
        placement = _Placement.model_validate(own)
    except ValidationError as e:
        raise MalformedResourceError("; ".join(_problems(e, "spec"))) from None
    route_fields = {k: v for k, v in spec.items() if k not in _OWN_FIELDS}
    for reserved in ("name", "service"):
        if reserved in route_fields:
            raise MalformedResourceError(
                f"spec.{reserved}: not a field of PlatformIngress"
                " (the name is the resource's, the service is backend.service)"
            )
    if route_fields.get("access") == Access.INTERNAL.value:
        raise MalformedResourceError(
            "spec.access: internal routes are never routed from outside"
        )
    try:
        route = Route.model_validate(
            {
                "name": _route_name(name),
                "service": placement.backend.service,
                "description": f"PlatformIngress {name}",
                **route_fields,
            }
        )
    except ValidationError as e:
        raise MalformedResourceError("; ".join(_problems(e, "spec"))) from None
    return PlatformIngress(
        name=name,
        namespace=str(metadata.get("namespace") or "default"),
        uid=str(metadata.get("uid") or ""),
        generation=int(metadata.get("generation") or 0),
        route=route,
        backend=placement.backend,
        host=placement.host,
        tls_secret_name=placement.tls_secret_name,
        annotations=_passed_annotations(metadata.get("annotations")),
    )


def _passed_annotations(annotations: object) -> dict[str, str]:
    """The annotations of a resource that its ingress objects carry too."""
    if not isinstance(annotations, Mapping):
        return {}
    return {
        str(key): str(value)
        for key, value in annotations.items()
        if not str(key).startswith(_PRIVATE_ANNOTATION_PREFIXES)
    }
