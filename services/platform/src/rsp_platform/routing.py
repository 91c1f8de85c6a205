"""The model of the route table: services, routes and the rules they obey.

The declaration itself is in :mod:`rsp_platform.routes`; see its docstring
for what each :class:`Access` means.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .scopes import KNOWN_SCOPES

__all__ = [
    "Access",
    "AuthType",
    "Match",
    "Route",
    "RouteTable",
    "RouteTableError",
    "Satisfy",
    "Service",
    "Upstream",
]


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

    def routed(
        self, enabled: Collection[str] | None = None, *, expand: bool = True
    ) -> list[Route]:
        """The routes to render, anonymous sub-paths expanded.

        Parameters
        ----------
        enabled
            Names of the services that run; routes of other services are left
            out. ``None`` means the services this repository builds.
        expand
            Whether each anonymous sub-path becomes a route of its own (the
            local ingress); without, routes are as declared (``PlatformIngress``
            resources, whose operator expands them).

        Raises
        ------
        RouteTableError
            If ``enabled`` names a service that is not declared.
        """
        if enabled is None:
            enabled = {s.name for s in self.services if s.built}
        for name in enabled:
            self.service(name)
        return [
            r
            for route in self.routes
            if route.service in enabled
            for r in (route.expanded() if expand else [route])
        ]

    def for_service(self, name: str, *, expand: bool = True) -> list[Route]:
        """The routes that ``name`` serves (anonymous sub-paths expanded or not)."""
        return self.routed({name}, expand=expand)

    def route_for(
        self, path: str, enabled: Collection[str] | None = None
    ) -> Route | None:
        """The route a request path falls under (most specific wins), if any."""
        candidates = [r for r in self.routed(enabled) if r.covers(path)]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (r.match is Match.EXACT, len(r.path)))


def _duplicates(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    return dups
