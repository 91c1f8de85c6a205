"""``PlatformIngress`` to Gateway API objects with Envoy Gateway's ext auth.

A route becomes an ``HTTPRoute`` (``gateway.networking.k8s.io/v1``) attached
to the configured Gateway, and, unless the service authenticates by itself,
an Envoy Gateway ``SecurityPolicy`` (``gateway.envoyproxy.io/v1alpha1``) of
the same name whose ``extAuth.http`` asks the gateway before every request.

Envoy's HTTP ext_authz differs from ingress-nginx's ``auth-url``: the check
request keeps the original method, its path is the configured ``path``
followed by the original path and query, and a 401 or 403 goes to the
client as the gateway sent it (there is no ``auth-signin``). So the route's
parameters travel in the path, as one segment in the same query syntax as
``/ingress/auth`` (:func:`rsp_platform.routes.auth_query`, plus
``login_redirect=true`` for browser routes, where the gateway itself
answers with the redirect to ``/login``)::

    /ingress/ext-authz/auth/scope=read:tap&satisfy=all&auth_type=basic/<original path>

Anonymous routes and sub-paths use ``/ingress/ext-authz/anonymous``. On a
200 the gateway lists in ``x-envoy-auth-headers-to-remove`` every header of
:data:`rsp_platform.routes.AUTH_RESPONSE_HEADERS` it did not set, so a
client's own ``X-Auth-Request-*`` never reaches a service. Routes whose
service authenticates by itself get no policy; their ``HTTPRoute`` removes
those headers with a ``RequestHeaderModifier`` filter.

TLS is the Gateway listener's business: ``tlsSecretName`` does not apply.
"""

from __future__ import annotations

import re
from typing import Any

from rsp_platform.routes import AUTH_RESPONSE_HEADERS, auth_query
from rsp_platform.routing import Access, Match, Route
from rsp_platform.settings import ConfigurationError

from ..config import OperatorSettings
from .model import MalformedResourceError, PlatformIngress
from .objects import child_name, object_metadata

__all__ = [
    "EXT_AUTHZ_ANONYMOUS_PATH",
    "EXT_AUTHZ_AUTH_PATH",
    "HEADERS_TO_EXT_AUTH",
    "HTTPROUTE_API_VERSION",
    "SECURITY_POLICY_API_VERSION",
    "ext_authz_path",
    "gateway_api_objects",
    "gateway_service_ref",
]

HTTPROUTE_API_VERSION = "gateway.networking.k8s.io/v1"
"""``apiVersion`` of ``HTTPRoute``."""

SECURITY_POLICY_API_VERSION = "gateway.envoyproxy.io/v1alpha1"
"""``apiVersion`` of Envoy Gateway's ``SecurityPolicy``."""

EXT_AUTHZ_AUTH_PATH = "/ingress/ext-authz/auth"
"""Prefix of the gateway's ext_authz check for routes with scopes."""

EXT_AUTHZ_ANONYMOUS_PATH = "/ingress/ext-authz/anonymous"
"""Prefix of the gateway's ext_authz check for anonymous routes."""

HEADERS_TO_EXT_AUTH: tuple[str, ...] = (
    "Cookie",
    "Origin",
    "Access-Control-Request-Method",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
)
"""Client headers the check request carries besides Envoy's defaults
(``Host``, method, path, ``Content-Length``, ``Authorization``): the session
cookie, what a CORS preflight is recognised by, and the client's address."""

_CLIENT_AUTH_HEADERS = tuple(h for h in AUTH_RESPONSE_HEADERS if h.startswith("X-Auth"))
_SERVICE_URL = re.compile(
    r"^(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r"\.svc(\.[a-z0-9.-]+)?$"
)
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_:=&.,-]+$")


def gateway_service_ref(settings: OperatorSettings) -> dict[str, Any]:
    """The gateway's Service as a backend reference, from ``gateway_url``.

    Raises
    ------
    ConfigurationError
        If ``gateway_url`` is not ``http://<service>.<namespace>.svc...``.
    """
    url = settings.gateway_url
    match = _SERVICE_URL.match(url.host or "")
    if match is None or url.scheme != "http" or url.path not in (None, "", "/"):
        raise ConfigurationError(
            "invalid operator settings:\n  gateway_url: with ingress_flavour"
            " gateway-api it must name the gateway's Service,"
            f" http://<service>.<namespace>.svc[.cluster.local]:<port>, not {url}"
        )
    return {
        "group": "",
        "kind": "Service",
        "name": match["service"],
        "namespace": match["namespace"],
        "port": url.port or 80,
    }


def ext_authz_path(route: Route) -> str:
    """The ``extAuth.http.path`` of a route's policy (see the module doc)."""
    if route.access is Access.ANONYMOUS:
        return EXT_AUTHZ_ANONYMOUS_PATH
    query = auth_query(route)
    if query is None:
        raise MalformedResourceError(f"route {route.name} makes no auth check")
    if route.login_redirect:
        query += "&login_redirect=true"
    if not _SAFE_SEGMENT.match(query):
        raise MalformedResourceError(
            f"route {route.name}: auth parameters {query!r} cannot be a path segment"
        )
    return f"{EXT_AUTHZ_AUTH_PATH}/{query}"


def _parent_refs(settings: OperatorSettings) -> list[dict[str, Any]]:
    gateway = settings.gateway_api
    ref: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": gateway.gateway_name,
        "namespace": gateway.gateway_namespace,
    }
    if gateway.section_name:
        ref["sectionName"] = gateway.section_name
    return [ref]


def _http_route(
    resource: PlatformIngress,
    settings: OperatorSettings,
    name: str,
    route: Route,
    paths: list[str],
) -> dict[str, Any]:
    path_type = "Exact" if route.match is Match.EXACT else "PathPrefix"
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": path_type, "value": p}} for p in paths],
        "backendRefs": [
            {
                "group": "",
                "kind": "Service",
                "name": resource.backend.service,
                "port": resource.backend.port,
            }
        ],
    }
    if route.access is Access.SERVICE:
        rule["filters"] = [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"remove": list(_CLIENT_AUTH_HEADERS)},
            }
        ]
    if route.websocket:
        # Long-lived connections: no deadline for the whole request (Envoy's
        # idle timeout still ends idle ones), as the nginx flavour's 3600 s
        # read timeout.
        rule["timeouts"] = {"request": "0s"}
    return {
        "apiVersion": HTTPROUTE_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": object_metadata(resource, name),
        "spec": {
            "parentRefs": _parent_refs(settings),
            "hostnames": [resource.host or settings.host],
            "rules": [rule],
        },
    }


def _security_policy(
    resource: PlatformIngress,
    settings: OperatorSettings,
    name: str,
    route: Route,
) -> dict[str, Any]:
    headers_to_backend = (
        list(AUTH_RESPONSE_HEADERS)
        if route.access is Access.SCOPES
        else ["Authorization", "Cookie"]
    )
    return {
        "apiVersion": SECURITY_POLICY_API_VERSION,
        "kind": "SecurityPolicy",
        "metadata": object_metadata(resource, name),
        "spec": {
            "targetRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "name": name,
                }
            ],
            "extAuth": {
                "http": {
                    "backendRefs": [gateway_service_ref(settings)],
                    "path": ext_authz_path(route),
                    "headersToBackend": headers_to_backend,
                },
                "headersToExtAuth": list(HEADERS_TO_EXT_AUTH),
                "failOpen": False,
            },
        },
    }


def gateway_api_objects(
    resource: PlatformIngress, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """``HTTPRoute`` and ``SecurityPolicy`` objects of a resource, in order."""
    route = resource.main_route
    name = child_name(resource)
    objects = [_http_route(resource, settings, name, route, [route.path])]
    if route.access is not Access.SERVICE:
        objects.append(_security_policy(resource, settings, name, route))
    anonymous = resource.anonymous_route
    if anonymous is not None:
        name = child_name(resource, "anonymous")
        paths = resource.anonymous_paths
        objects.append(_http_route(resource, settings, name, anonymous, paths))
        objects.append(_security_policy(resource, settings, name, anonymous))
    return objects
