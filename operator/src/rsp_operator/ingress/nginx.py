"""``PlatformIngress`` to ingress-nginx ``Ingress`` objects (pure functions).

The access annotations come from :func:`rsp_platform.routes.ingress_annotations`,
the same function the local ingress and the charts' route listing use, so a
route is admitted the same way everywhere. The only change is the sign-in
URL of browser routes: the operator knows the platform's external URL, so it
names it instead of ``https://$host``, which would be wrong for a plain-HTTP
platform and for a route served on another host than the login.

A route becomes one ``Ingress`` named after the resource; its anonymous
sub-paths become one more, ``<name>-anonymous``, with one ``Exact`` path each
and the gateway's ``/ingress/anonymous`` as auth URL (ingress-nginx applies
annotations per ``Ingress``, so they cannot share the route's).
"""

from __future__ import annotations

from typing import Any

from rsp_platform.routes import ingress_annotations
from rsp_platform.routing import Match, Route

from ..config import OperatorSettings
from .model import PlatformIngress
from .objects import child_name, object_metadata

__all__ = ["INGRESS_API_VERSION", "SIGNIN_ANNOTATION", "nginx_objects"]

INGRESS_API_VERSION = "networking.k8s.io/v1"
"""``apiVersion`` of the ``Ingress`` objects made."""

SIGNIN_ANNOTATION = "nginx.ingress.kubernetes.io/auth-signin"
"""Where ingress-nginx sends a browser on a 401 (it appends ``?rd=<URL>``)."""


def _annotations(route: Route, settings: OperatorSettings) -> dict[str, str]:
    annotations = ingress_annotations(route, str(settings.gateway_url))
    if SIGNIN_ANNOTATION in annotations:
        annotations[SIGNIN_ANNOTATION] = f"{settings.external_url}/login"
    return annotations


def _path(path: str, match: Match, resource: PlatformIngress) -> dict[str, Any]:
    return {
        "path": path,
        "pathType": "Exact" if match is Match.EXACT else "Prefix",
        "backend": {
            "service": {
                "name": resource.backend.service,
                "port": {"number": resource.backend.port},
            }
        },
    }


def _ingress(
    resource: PlatformIngress,
    settings: OperatorSettings,
    name: str,
    route: Route,
    paths: list[str],
) -> dict[str, Any]:
    host = resource.host or settings.host
    spec: dict[str, Any] = {
        "ingressClassName": settings.ingress_class_name,
        "rules": [
            {
                "host": host,
                "http": {"paths": [_path(p, route.match, resource) for p in paths]},
            }
        ],
    }
    secret = resource.tls_secret_name or settings.tls_secret_name
    if secret:
        spec["tls"] = [{"hosts": [host], "secretName": secret}]
    elif settings.serves_tls:
        # The host only: ingress-nginx serves its default certificate
        # (--default-ssl-certificate), the environment's one certificate.
        spec["tls"] = [{"hosts": [host]}]
    return {
        "apiVersion": INGRESS_API_VERSION,
        "kind": "Ingress",
        "metadata": object_metadata(resource, name, _annotations(route, settings)),
        "spec": spec,
    }


def nginx_objects(
    resource: PlatformIngress, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """The ``Ingress`` objects of a resource, the route's first."""
    route = resource.main_route
    objects = [_ingress(resource, settings, child_name(resource), route, [route.path])]
    anonymous = resource.anonymous_route
    if anonymous is not None:
        name = child_name(resource, "anonymous")
        objects.append(
            _ingress(resource, settings, name, anonymous, resource.anonymous_paths)
        )
    return objects
