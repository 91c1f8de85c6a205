"""The platform's route table: every path, who serves it and who may enter.

This is the one declaration of the routes that ``platform.md`` describes. The
local ingress (nginx, see :mod:`rsp_platform.nginx`) and the Kubernetes
ingresses of the charts (``rsp-platform routes --format yaml``) are both
rendered from it, so a route changes here or nowhere. In Kubernetes the
charts declare each route as a ``PlatformIngress`` resource
(:func:`platform_ingress_spec`, ``rsp-platform routes --format
platformingress``), which the platform's operator turns into ingress objects.

Each route says how the ingress admits a request (its :class:`Access`):

``scopes``
    The ingress asks the gateway's ``/ingress/auth`` with the route's
    parameters (:func:`auth_query`) and passes the request on only after a
    200; the gateway's answer headers replace whatever the client sent under
    the same names.
``anonymous``
    The ingress asks ``/ingress/anonymous``, which strips the gateway's
    credentials, and always passes the request on.
``service``
    The service authenticates requests itself (the gateway's own ``/login``,
    ``/logout`` and ``/auth/...``); the ingress passes credentials unchanged
    but still drops client-sent ``X-Auth-Request-*`` headers.
``internal``
    Never routed from outside: the ingress answers 404 (``/ingress/...``).

Services that are not built yet are declared with their routes, but a route
is rendered only when its service is in the set of enabled services.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .routing import (
    Access,
    AuthType,
    Match,
    Route,
    RouteTable,
    RouteTableError,
    Satisfy,
    Service,
    Upstream,
)

__all__ = [
    "AUTH_RESPONSE_HEADERS",
    "DEFAULT_GATEWAY_URL",
    "ENABLED_SERVICES",
    "PLATFORM_INGRESS_API_VERSION",
    "PLATFORM_INGRESS_KIND",
    "ROUTE_TABLE",
    "Access",
    "AuthType",
    "Match",
    "Route",
    "RouteTable",
    "RouteTableError",
    "Satisfy",
    "Service",
    "Upstream",
    "auth_query",
    "auth_url",
    "describe_route",
    "ingress_annotations",
    "platform_ingress_entry",
    "platform_ingress_spec",
]

AUTH_RESPONSE_HEADERS: tuple[str, ...] = (
    "X-Auth-Request-User",
    "X-Auth-Request-Email",
    "X-Auth-Request-Service",
    "X-Auth-Request-Token",
    "Authorization",
    "Cookie",
)
"""Headers of the gateway's 200 answer that the ingress always sets upstream."""

DEFAULT_GATEWAY_URL = "http://gateway.gateway.svc.cluster.local:8080"
"""Where ingresses in Kubernetes reach the gateway for the auth subrequest."""


def auth_query(route: Route) -> str | None:
    """The query string of the route's auth subrequest to ``/ingress/auth``.

    ``None`` for routes that make no subrequest with parameters (anonymous,
    self-authenticated and internal routes).
    """
    if route.access is not Access.SCOPES:
        return None
    params: list[tuple[str, str]] = [("scope", s) for s in route.scopes]
    params.append(("satisfy", route.satisfy.value))
    if route.delegate_to is not None:
        params.append(("delegate_to", route.delegate_to))
        params.extend(("delegate_scope", s) for s in route.delegate_scopes)
    if route.notebook:
        params.append(("notebook", "true"))
    if route.minimum_lifetime is not None:
        params.append(("minimum_lifetime", str(route.minimum_lifetime)))
    params.append(("auth_type", route.auth_type.value))
    if route.use_authorization:
        params.append(("use_authorization", "true"))
    return urlencode(params, safe=":")


def auth_url(route: Route, gateway_url: str) -> str | None:
    """The full URL of the route's auth subrequest, ``None`` if it makes none.

    Parameters
    ----------
    route
        The route.
    gateway_url
        Base URL under which the ingress reaches the gateway, e.g.
        ``http://127.0.0.1:8001``.
    """
    base = gateway_url.rstrip("/")
    if route.access is Access.ANONYMOUS:
        return f"{base}/ingress/anonymous"
    query = auth_query(route)
    if query is None:
        return None
    return f"{base}/ingress/auth?{query}"


def ingress_annotations(route: Route, gateway_url: str) -> dict[str, str]:
    """ingress-nginx annotations giving a route its access rules in Kubernetes."""
    url = auth_url(route, gateway_url)
    annotations: dict[str, str] = {}
    if url is not None:
        annotations["nginx.ingress.kubernetes.io/auth-method"] = "GET"
        annotations["nginx.ingress.kubernetes.io/auth-url"] = url
        annotations["nginx.ingress.kubernetes.io/auth-response-headers"] = ",".join(
            AUTH_RESPONSE_HEADERS
        )
    if route.login_redirect:
        annotations["nginx.ingress.kubernetes.io/auth-signin"] = "https://$host/login"
        annotations["nginx.ingress.kubernetes.io/auth-signin-redirect-param"] = "rd"
    if route.websocket:
        annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "3600"
        annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "3600"
    return annotations


def describe_route(
    table: RouteTable, route: Route, gateway_url: str = DEFAULT_GATEWAY_URL
) -> dict[str, Any]:
    """Everything about a route that a chart needs, camelCase keys.

    Includes the upstream in the cluster, the auth subrequest URL and the
    ingress-nginx annotations that implement the route's access rules.
    """
    data = route.model_dump(by_alias=True, mode="json", exclude={"anonymous_paths"})
    data["pathType"] = "Exact" if route.match is Match.EXACT else "Prefix"
    data["upstream"] = table.service(route.service).upstream.model_dump(
        by_alias=True, mode="json"
    )
    data["authQuery"] = auth_query(route)
    data["authUrl"] = auth_url(route, gateway_url)
    data["annotations"] = ingress_annotations(route, gateway_url)
    return data


PLATFORM_INGRESS_API_VERSION = "science-platform.dev/v1alpha1"
"""``apiVersion`` of ``PlatformIngress`` (CRD in ``charts/operator/crds``)."""

PLATFORM_INGRESS_KIND = "PlatformIngress"
"""``kind`` of the custom resource that declares one route in Kubernetes."""


_STATED_FIELDS = {"description", "path", "match", "access"}
"""Route fields that every ``PlatformIngress`` spec states, default or not."""


def platform_ingress_spec(
    table: RouteTable,
    route: Route,
    *,
    host: str | None = None,
    tls_secret_name: str | None = None,
) -> dict[str, Any]:
    """The ``spec`` of the ``PlatformIngress`` resource that declares a route.

    The fields are the route's own under their camelCase names, which the
    CRD mirrors with the same defaults; a field at its default is left out,
    except ``match`` and ``access``, which every spec states. Anonymous
    sub-paths stay on the route as ``anonymousPaths``: the operator expands
    them. The backend is the route's service as the route table places it
    in the cluster (a chart may name its own Service instead).

    Parameters
    ----------
    table
        The route table that declares the route's service.
    route
        The route.
    host
        Host name of the route; left out (the operator's host) if not given.
    tls_secret_name
        Secret with the host's certificate; left out if not given.

    Raises
    ------
    RouteTableError
        If the route is internal: it is never routed from outside, so no
        resource may declare it.
    """
    if route.internal:
        raise RouteTableError(
            f"route {route.name} ({route.path}) is internal: never routed from outside"
        )
    upstream = table.service(route.service).upstream
    stated = route.model_dump(by_alias=True, mode="json", include=_STATED_FIELDS)
    changed = route.model_dump(
        by_alias=True,
        mode="json",
        exclude={"name", "service", *_STATED_FIELDS},
        exclude_defaults=True,
    )
    spec: dict[str, Any] = {
        "description": stated["description"],
        "path": stated["path"],
        "match": stated["match"],
        "backend": {"service": upstream.service, "port": upstream.port},
        "access": stated["access"],
        **changed,
    }
    if host:
        spec["host"] = host
    if tls_secret_name:
        spec["tlsSecretName"] = tls_secret_name
    return spec


def platform_ingress_entry(table: RouteTable, route: Route) -> dict[str, Any]:
    """What a chart vendors of a route: its name, its service and its spec.

    The chart makes one ``PlatformIngress`` of each entry, naming it after
    the route and setting its own Service, host and certificate.
    """
    return {
        "name": route.name,
        "service": route.service,
        "spec": platform_ingress_spec(table, route),
    }


def _upstream(
    service: str, port: int, local_port: int, namespace: str = ""
) -> Upstream:
    return Upstream(
        service=service,
        namespace=namespace or service,
        port=port,
        local_port=local_port,
    )


_SERVICES = (
    Service(
        name="gateway",
        description="Login, tokens with scopes and the ingress auth subrequest",
        upstream=_upstream("gateway", 8080, 8001),
        built=True,
    ),
    Service(
        name="portal",
        description="Portal Aspect and the platform's landing page (planned)",
        upstream=_upstream("portal", 8080, 8002),
    ),
    Service(
        name="repertoire",
        description="Service discovery (rubin-repertoire Discovery model)",
        upstream=_upstream("repertoire", 8080, 8003),
        built=True,
    ),
    Service(
        name="nublado",
        description="JupyterHub and the users' labs",
        upstream=_upstream("proxy-public", 80, 8004, namespace="nublado"),
        built=True,
    ),
    Service(
        name="tap",
        description="TAP 1.1 service for catalog queries",
        upstream=_upstream("tap", 8080, 8005),
        built=True,
    ),
    Service(
        name="butler",
        description="Butler server for images and datasets (lsst-daf-butler)",
        upstream=_upstream("butler", 8080, 8006),
        built=True,
    ),
)

_ROUTES = (
    Route(
        name="portal-landing",
        path="/",
        service="portal",
        description="Landing page of the platform",
        access=Access.ANONYMOUS,
    ),
    Route(
        name="gateway-login",
        path="/login",
        service="gateway",
        description="Browser login (?rd= return URL on the same host)",
        access=Access.SERVICE,
    ),
    Route(
        name="gateway-logout",
        path="/logout",
        service="gateway",
        description="Browser logout, revokes the session token",
        access=Access.SERVICE,
    ),
    Route(
        name="gateway-tokens",
        path="/auth/tokens",
        service="gateway",
        description="Token management page; the gateway requires user:token",
        access=Access.SERVICE,
    ),
    Route(
        name="gateway-api",
        path="/auth/api/v1",
        service="gateway",
        description="Gateway REST API: token or session cookie with CSRF header",
        access=Access.SERVICE,
    ),
    Route(
        name="gateway-auth",
        path="/auth",
        service="gateway",
        description="Other gateway resources: static files, API documentation",
        access=Access.SERVICE,
    ),
    Route(
        name="gateway-ingress",
        path="/ingress",
        service="gateway",
        description="Auth subrequest for the ingress only",
        access=Access.INTERNAL,
    ),
    Route(
        name="repertoire",
        path="/repertoire",
        service="repertoire",
        description="Service discovery (rubin-repertoire Discovery model)",
        access=Access.ANONYMOUS,
    ),
    Route(
        name="nublado-hub",
        path="/nb/hub",
        service="nublado",
        description="JupyterHub",
        scopes=("exec:notebook",),
        notebook=True,
        # A lab is spawned from here with the hub's notebook token: it must
        # outlive the longest lab (3 days) plus the idle culler's interval.
        minimum_lifetime=3 * 24 * 3600 + 3600,
        login_redirect=True,
        websocket=True,
    ),
    Route(
        name="nublado-lab",
        path="/nb/user",
        service="nublado",
        description="The user's JupyterLab",
        scopes=("exec:notebook",),
        notebook=True,
        login_redirect=True,
        websocket=True,
    ),
    Route(
        name="tap",
        path="/api/tap",
        service="tap",
        description="TAP 1.1 catalog queries",
        scopes=("read:tap",),
        delegate_to="tap",
        delegate_scopes=("read:tap",),
        auth_type=AuthType.BASIC,
        anonymous_paths=("availability", "capabilities"),
    ),
    Route(
        name="butler",
        path="/api/butler",
        service="butler",
        description="Butler server; repository index at configs/repositories.yaml",
        scopes=("read:image",),
        delegate_to="butler",
        delegate_scopes=("read:image",),
        use_authorization=True,
        # Clients read the index and a repository's client configuration
        # before they hold a token for the server (Butler("dp01")).
        anonymous_paths=(
            "configs/repositories.yaml",
            "repo/dp01/butler.yaml",
            "repo/dp01/butler.json",
        ),
    ),
    Route(
        name="butler-files",
        path="/api/butler/files",
        service="butler",
        description=(
            "Dataset files through URLs the Butler server signed for an"
            " authorized user (local datastores; object storage signs its own)"
        ),
        access=Access.ANONYMOUS,
    ),
    Route(
        name="portal",
        path="/portal",
        service="portal",
        description="Portal Aspect",
        scopes=("exec:portal",),
        delegate_to="portal",
        delegate_scopes=("read:tap", "read:image"),
        login_redirect=True,
        websocket=True,
    ),
)

ROUTE_TABLE = RouteTable(services=_SERVICES, routes=_ROUTES)
"""Every route of the platform (``platform.md``, "Routes")."""

ENABLED_SERVICES: frozenset[str] = frozenset(s.name for s in _SERVICES if s.built)
"""Services routed by default: those this repository builds today."""
