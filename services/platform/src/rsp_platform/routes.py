"""The platform's route table: every path, who serves it and who may enter.

This is the one declaration of the routes that ``platform.md`` describes. The
local ingress (nginx, see :mod:`rsp_platform.nginx`) and the Kubernetes
ingresses of the charts (``rsp-platform routes --format yaml``) are both
rendered from it, so a route changes here or nowhere.

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

from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Annotated, Any, Self
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .scopes import KNOWN_SCOPES

__all__ = [
    "AUTH_RESPONSE_HEADERS",
    "DEFAULT_GATEWAY_URL",
    "ENABLED_SERVICES",
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
    "ingress_annotations",
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


class RouteTableError(ValueError):
    """The route table contradicts itself or the contract."""


class Access(StrEnum):
    """How the ingress admits a request to a route."""

    SCOPES = "scopes"
    ANONYMOUS = "anonymous"
    SERVICE = "service"
    INTERNAL = "internal"


class Satisfy(StrEnum):
    """Whether a token needs all of a route's scopes or any one of them."""

    ALL = "all"
    ANY = "any"


class AuthType(StrEnum):
    """The challenge the gateway sends in ``WWW-Authenticate`` on a 401."""

    BEARER = "bearer"
    BASIC = "basic"


class Match(StrEnum):
    """How a route's path matches request paths (as Kubernetes ``pathType``).

    ``prefix`` matches the path and everything below it, element by element
    (``/api/tap`` matches ``/api/tap`` and ``/api/tap/sync``, not
    ``/api/tapx``); ``exact`` matches the path alone.
    """

    PREFIX = "prefix"
    EXACT = "exact"


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )


class Upstream(_Frozen):
    """Where a service listens, in Kubernetes and in local development."""

    service: Annotated[str, Field(description="Kubernetes Service name")]
    namespace: Annotated[str, Field(description="Kubernetes namespace")]
    port: Annotated[int, Field(ge=1, le=65535, description="Kubernetes port")]
    local_host: Annotated[str, Field(description="Host in `make dev`")] = "127.0.0.1"
    local_port: Annotated[int, Field(ge=1, le=65535, description="Port in `make dev`")]

    @property
    def local_address(self) -> str:
        """``host:port`` of the service in local development."""
        return f"{self.local_host}:{self.local_port}"

    @property
    def cluster_url(self) -> str:
        """Base URL of the service inside the Kubernetes cluster."""
        return f"http://{self.service}.{self.namespace}.svc.cluster.local:{self.port}"


class Service(_Frozen):
    """A service of the platform that routes lead to."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    description: str
    upstream: Upstream
    built: Annotated[
        bool, Field(description="Whether this repository already builds the service")
    ] = False


class Route(_Frozen):
    """One path of the platform and the rules of the ingress for it."""

    name: Annotated[
        str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="Unique name of the route")
    ]
    path: Annotated[str, Field(pattern=r"^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$")]
    match: Match = Match.PREFIX
    service: Annotated[str, Field(description="Name of the Service serving it")]
    description: str
    access: Access = Access.SCOPES
    scopes: Annotated[
        tuple[str, ...], Field(description="Scopes the token needs (access=scopes)")
    ] = ()
    satisfy: Satisfy = Satisfy.ALL
    delegate_to: Annotated[
        str | None, Field(description="Service that receives an internal token")
    ] = None
    delegate_scopes: Annotated[
        tuple[str, ...], Field(description="Scopes of the internal token")
    ] = ()
    notebook: Annotated[
        bool, Field(description="Pass a notebook token in X-Auth-Request-Token")
    ] = False
    minimum_lifetime: Annotated[
        int | None,
        Field(ge=1, description="Seconds a delegated token must still be valid"),
    ] = None
    login_redirect: Annotated[
        bool, Field(description="Browser route: a 401 becomes a redirect to /login")
    ] = False
    auth_type: AuthType = AuthType.BEARER
    use_authorization: Annotated[
        bool, Field(description="Pass the delegated token as Authorization: Bearer")
    ] = False
    websocket: Annotated[bool, Field(description="Allow WebSocket upgrades")] = False
    anonymous_paths: Annotated[
        tuple[str, ...],
        Field(description="Sub-paths (relative to path) open to anyone, exact match"),
    ] = ()

    @property
    def anonymous(self) -> bool:
        """Whether the ingress admits anyone (via ``/ingress/anonymous``)."""
        return self.access is Access.ANONYMOUS

    @property
    def self_authenticated(self) -> bool:
        """Whether the service checks credentials itself."""
        return self.access is Access.SERVICE

    @property
    def internal(self) -> bool:
        """Whether the route is never reachable from outside."""
        return self.access is Access.INTERNAL

    @property
    def delegates(self) -> bool:
        """Whether the gateway hands the service a token of its own."""
        return self.delegate_to is not None or self.notebook

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        problems = list(_route_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def covers(self, path: str) -> bool:
        """Whether a request path falls under this route."""
        if self.match is Match.EXACT:
            return path == self.path
        if self.path == "/":
            return path.startswith("/")
        return path == self.path or path.startswith(self.path + "/")

    def expanded(self) -> list[Route]:
        """This route and one exact anonymous route per anonymous sub-path."""
        routes = [
            Route(
                name=f"{self.name}-{sub.replace('/', '-').replace('.', '-')}",
                path=f"{self.path.rstrip('/')}/{sub}",
                match=Match.EXACT,
                service=self.service,
                description=f"{self.description}: {sub} (anonymous)",
                access=Access.ANONYMOUS,
            )
            for sub in self.anonymous_paths
        ]
        routes.append(self.model_copy(update={"anonymous_paths": ()}))
        return routes


def _route_problems(route: Route) -> Iterable[str]:
    """Every rule the route breaks, as messages naming the route."""
    prefix = f"route {route.name} ({route.path})"
    unknown = sorted(set(route.scopes) - set(KNOWN_SCOPES))
    unknown += sorted(set(route.delegate_scopes) - set(KNOWN_SCOPES))
    if unknown:
        yield f"{prefix}: unknown scopes {', '.join(unknown)}"
    if route.access is Access.SCOPES:
        if not route.scopes:
            yield (
                f"{prefix}: no scopes; declare access=anonymous, service or "
                "internal if that is meant"
            )
    else:
        given = [
            name
            for name, value in (
                ("scopes", route.scopes),
                ("satisfy=any", route.satisfy is Satisfy.ANY),
                ("delegate_to", route.delegate_to),
                ("delegate_scopes", route.delegate_scopes),
                ("notebook", route.notebook),
                ("minimum_lifetime", route.minimum_lifetime),
                ("login_redirect", route.login_redirect),
                ("auth_type=basic", route.auth_type is AuthType.BASIC),
                ("use_authorization", route.use_authorization),
                ("anonymous_paths", route.anonymous_paths),
            )
            if value
        ]
        if given:
            yield (
                f"{prefix}: {', '.join(given)} only apply to access=scopes, "
                f"not {route.access.value}"
            )
    if route.delegate_scopes and route.delegate_to is None:
        yield f"{prefix}: delegate_scopes without delegate_to"
    if route.notebook and route.delegate_to is not None:
        yield f"{prefix}: notebook and delegate_to exclude each other"
    if (route.minimum_lifetime or route.use_authorization) and not route.delegates:
        yield f"{prefix}: minimum_lifetime/use_authorization need a delegated token"
    if route.anonymous_paths and route.match is Match.EXACT:
        yield f"{prefix}: anonymous_paths need a prefix route"
    for sub in route.anonymous_paths:
        if not sub or sub.startswith("/") or sub.endswith("/") or ".." in sub:
            yield f"{prefix}: anonymous path {sub!r} must be relative (availability)"
    if any(part in (".", "..") for part in route.path.split("/")):
        yield f"{prefix}: path must not have '.' or '..' segments"


class RouteTable(_Frozen):
    """All services and routes of the platform, checked against each other."""

    services: tuple[Service, ...]
    routes: tuple[Route, ...]

    @model_validator(mode="after")
    def _check_table(self) -> Self:
        problems: list[str] = []
        service_names = [s.name for s in self.services]
        problems.extend(
            f"service {n} declared twice" for n in _duplicates(service_names)
        )
        expanded = [r for route in self.routes for r in route.expanded()]
        problems.extend(
            f"route name {n} used twice" for n in _duplicates(r.name for r in expanded)
        )
        problems.extend(
            f"path {p} declared twice"
            for p in _duplicates(f"{r.match.value} {r.path}" for r in expanded)
        )
        for route in self.routes:
            if route.service not in service_names:
                problems.append(f"route {route.name}: unknown service {route.service}")
            if route.delegate_to is not None and route.delegate_to not in service_names:
                problems.append(
                    f"route {route.name}: delegate_to unknown service "
                    f"{route.delegate_to}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def service(self, name: str) -> Service:
        """The service called ``name``.

        Raises
        ------
        RouteTableError
            If no service has that name.
        """
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services)
        raise RouteTableError(f"unknown service {name!r} (known: {known})")

    def routed(self, enabled: Collection[str] | None = None) -> list[Route]:
        """The routes to render, anonymous sub-paths expanded.

        Parameters
        ----------
        enabled
            Names of the services that run; routes of other services are left
            out. ``None`` means :data:`ENABLED_SERVICES`.

        Raises
        ------
        RouteTableError
            If ``enabled`` names a service that is not declared.
        """
        enabled = ENABLED_SERVICES if enabled is None else enabled
        for name in enabled:
            self.service(name)
        return [
            r
            for route in self.routes
            if route.service in enabled
            for r in route.expanded()
        ]

    def for_service(self, name: str) -> list[Route]:
        """The routes (anonymous sub-paths expanded) that ``name`` serves."""
        self.service(name)
        return [
            r
            for route in self.routes
            if route.service == name
            for r in route.expanded()
        ]

    def route_for(
        self, path: str, enabled: Collection[str] | None = None
    ) -> Route | None:
        """The route a request path falls under (most specific wins), if any."""
        candidates = [r for r in self.routed(enabled) if r.covers(path)]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (r.match is Match.EXACT, len(r.path)))

    def describe(
        self, route: Route, gateway_url: str = DEFAULT_GATEWAY_URL
    ) -> dict[str, Any]:
        """Everything about a route that a chart needs, camelCase keys.

        Includes the upstream in the cluster, the auth subrequest URL and the
        ingress-nginx annotations that implement the route's access rules.
        """
        data = route.model_dump(by_alias=True, mode="json", exclude={"anonymous_paths"})
        data["pathType"] = "Exact" if route.match is Match.EXACT else "Prefix"
        data["upstream"] = self.service(route.service).upstream.model_dump(
            by_alias=True, mode="json"
        )
        data["authQuery"] = auth_query(route)
        data["authUrl"] = auth_url(route, gateway_url)
        data["annotations"] = ingress_annotations(route, gateway_url)
        return data


def _duplicates(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    return dups


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
        description="Service discovery (planned)",
        upstream=_upstream("repertoire", 8080, 8003),
    ),
    Service(
        name="nublado",
        description="JupyterHub and the users' labs (planned)",
        upstream=_upstream("proxy-public", 80, 8004, namespace="nublado"),
    ),
    Service(
        name="tap",
        description="TAP 1.1 service for catalog queries (planned)",
        upstream=_upstream("tap", 8080, 8005),
    ),
    Service(
        name="butler",
        description="Butler server for images and datasets (planned)",
        upstream=_upstream("butler", 8080, 8006),
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
