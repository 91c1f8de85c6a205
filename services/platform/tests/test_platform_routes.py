"""The route table: declarations, validation and the auth subrequest URLs."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError
from rsp_platform.cli import main
from rsp_platform.routes import (
    AUTH_RESPONSE_HEADERS,
    ENABLED_SERVICES,
    ROUTE_TABLE,
    Access,
    AuthType,
    Match,
    Route,
    RouteTable,
    RouteTableError,
    Satisfy,
    auth_query,
    auth_url,
    describe_route,
    platform_ingress_entry,
    platform_ingress_spec,
)
from rsp_platform.scopes import KNOWN_SCOPES

CONTRACT_SCOPES = [
    "exec:notebook",
    "exec:portal",
    "read:tap",
    "read:image",
    "user:token",
    "admin:token",
    "admin:userinfo",
    "admin:jupyterlab",
    "exec:admin",
]

ALL = {s.name for s in ROUTE_TABLE.services}


def _route(**kwargs: object) -> Route:
    base: dict[str, object] = {
        "name": "r",
        "path": "/r",
        "service": "gateway",
        "description": "test",
    }
    base.update(kwargs)
    return Route.model_validate(base)


def test_scopes_are_the_contracts() -> None:
    assert list(KNOWN_SCOPES) == CONTRACT_SCOPES
    assert all(KNOWN_SCOPES.values())


@pytest.mark.parametrize(
    ("path", "service", "access", "scopes"),
    [
        ("/", "portal", Access.ANONYMOUS, ()),
        ("/login", "gateway", Access.SERVICE, ()),
        ("/login/callback", "gateway", Access.SERVICE, ()),
        ("/logout", "gateway", Access.SERVICE, ()),
        ("/auth/tokens", "gateway", Access.SERVICE, ()),
        ("/auth/api/v1/user-info", "gateway", Access.SERVICE, ()),
        ("/auth/static/site.css", "gateway", Access.SERVICE, ()),
        ("/ingress/auth", "gateway", Access.INTERNAL, ()),
        ("/ingress/anonymous", "gateway", Access.INTERNAL, ()),
        ("/repertoire/discovery", "repertoire", Access.ANONYMOUS, ()),
        ("/nb/hub/spawn", "nublado", Access.SCOPES, ("exec:notebook",)),
        ("/nb/user/alice/lab", "nublado", Access.SCOPES, ("exec:notebook",)),
        ("/api/tap/sync", "tap", Access.SCOPES, ("read:tap",)),
        ("/api/tap", "tap", Access.SCOPES, ("read:tap",)),
        ("/api/tap/availability", "tap", Access.ANONYMOUS, ()),
        ("/api/tap/capabilities", "tap", Access.ANONYMOUS, ()),
        (
            "/api/butler/repo/dp01/v1/universe",
            "butler",
            Access.SCOPES,
            ("read:image",),
        ),
        # Read before a client holds a token (as the daf_butler deployment does).
        ("/api/butler/configs/repositories.yaml", "butler", Access.ANONYMOUS, ()),
        ("/portal/app", "portal", Access.SCOPES, ("exec:portal",)),
    ],
)
def test_contract_paths(
    path: str, service: str, access: Access, scopes: tuple[str, ...]
) -> None:
    route = ROUTE_TABLE.route_for(path, ALL)
    assert route is not None
    assert (route.service, route.access, route.scopes) == (service, access, scopes)


def test_prefix_matches_whole_path_elements() -> None:
    tap = ROUTE_TABLE.route_for("/api/tapx", ALL)
    assert tap is not None
    assert tap.name == "portal-landing"
    assert ROUTE_TABLE.route_for("/api/tap/availability/x", ALL).name == "tap"  # type: ignore[union-attr]


def test_browser_routes_redirect_to_login() -> None:
    redirecting = {r.name for r in ROUTE_TABLE.routed(ALL) if r.login_redirect}
    assert redirecting == {"nublado-hub", "nublado-lab", "portal"}


def test_notebook_routes_carry_websockets_and_notebook_tokens() -> None:
    for name in ("nublado-hub", "nublado-lab"):
        route = next(r for r in ROUTE_TABLE.routes if r.name == name)
        assert route.websocket
        assert route.notebook
        assert "notebook=true" in (auth_query(route) or "")


def test_only_built_services_are_enabled() -> None:
    assert {"gateway", "repertoire", "butler", "nublado", "tap"} == ENABLED_SERVICES
    routed = ROUTE_TABLE.routed()
    assert {r.service for r in routed} == {
        "gateway",
        "repertoire",
        "butler",
        "nublado",
        "tap",
    }
    assert ROUTE_TABLE.route_for("/portal/app") is None
    assert {r.service for r in ROUTE_TABLE.routed({"gateway", "portal"})} == {
        "gateway",
        "portal",
    }


def test_enabling_an_unknown_service_fails() -> None:
    with pytest.raises(RouteTableError, match="unknown service 'nope'"):
        ROUTE_TABLE.routed({"nope"})


def test_auth_query_of_tap() -> None:
    tap = next(r for r in ROUTE_TABLE.routes if r.name == "tap")
    query = auth_query(tap)
    assert query == (
        "scope=read:tap&satisfy=all&delegate_to=tap&delegate_scope=read:tap"
        "&auth_type=basic"
    )


def test_auth_query_carries_every_parameter() -> None:
    route = _route(
        scopes=("read:tap", "read:image"),
        satisfy=Satisfy.ANY,
        delegate_to="tap",
        delegate_scopes=("read:tap",),
        minimum_lifetime=300,
        use_authorization=True,
    )
    assert parse_qsl(auth_query(route) or "") == [
        ("scope", "read:tap"),
        ("scope", "read:image"),
        ("satisfy", "any"),
        ("delegate_to", "tap"),
        ("delegate_scope", "read:tap"),
        ("minimum_lifetime", "300"),
        ("auth_type", "bearer"),
        ("use_authorization", "true"),
    ]


def test_auth_url_per_access() -> None:
    gateway = "http://127.0.0.1:8001/"
    anonymous = _route(access=Access.ANONYMOUS)
    assert auth_url(anonymous, gateway) == "http://127.0.0.1:8001/ingress/anonymous"
    assert auth_url(_route(access=Access.SERVICE), gateway) is None
    assert auth_url(_route(access=Access.INTERNAL), gateway) is None
    scoped = _route(scopes=("exec:admin",))
    assert auth_url(scoped, gateway) == (
        "http://127.0.0.1:8001/ingress/auth?scope=exec:admin&satisfy=all"
        "&auth_type=bearer"
    )


def test_query_values_are_escaped() -> None:
    route = _route(scopes=("exec:admin",), delegate_to="my&service")
    # An odd name is refused by the table, but the query stays well formed.
    assert "delegate_to=my%26service" in (auth_query(route) or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no scopes"),
        ({"scopes": ("read:everything",)}, "unknown scopes read:everything"),
        (
            {"access": Access.ANONYMOUS, "scopes": ("read:tap",)},
            "scopes only apply to access=scopes",
        ),
        (
            {"access": Access.SERVICE, "login_redirect": True},
            "login_redirect only apply",
        ),
        (
            {"access": Access.INTERNAL, "auth_type": AuthType.BASIC},
            "auth_type=basic only apply",
        ),
        (
            {"scopes": ("read:tap",), "delegate_scopes": ("read:tap",)},
            "delegate_scopes without delegate_to",
        ),
        (
            {"scopes": ("read:tap",), "notebook": True, "delegate_to": "tap"},
            "exclude each other",
        ),
        (
            {"scopes": ("read:tap",), "minimum_lifetime": 60},
            "need a delegated token",
        ),
        (
            {"scopes": ("read:tap",), "use_authorization": True},
            "need a delegated token",
        ),
        (
            {"scopes": ("read:tap",), "anonymous_paths": ("/abs",)},
            "must be relative",
        ),
        (
            {
                "scopes": ("read:tap",),
                "match": Match.EXACT,
                "anonymous_paths": ("x",),
            },
            "need a prefix route",
        ),
        ({"path": "/r/../s", "scopes": ("read:tap",)}, "'.' or '..' segments"),
    ],
)
def test_invalid_routes_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _route(**kwargs)


def test_paths_must_be_plain() -> None:
    for path in ("r", "/r/", "/a//b", "/a b", "/a?x=1", "/a%2f"):
        with pytest.raises(ValidationError):
            _route(path=path, access=Access.ANONYMOUS)


def test_table_refuses_contradictions() -> None:
    services = ROUTE_TABLE.services
    good = _route(access=Access.ANONYMOUS)
    with pytest.raises(ValidationError, match="unknown service ghost"):
        RouteTable(
            services=services, routes=(good.model_copy(update={"service": "ghost"}),)
        )
    with pytest.raises(ValidationError, match="route name r used twice"):
        RouteTable(
            services=services, routes=(good, good.model_copy(update={"path": "/s"}))
        )
    with pytest.raises(ValidationError, match="path prefix /r declared twice"):
        RouteTable(
            services=services, routes=(good, good.model_copy(update={"name": "s"}))
        )
    with pytest.raises(ValidationError, match="service gateway declared twice"):
        RouteTable(services=(services[0], services[0]), routes=())
    delegating = _route(scopes=("read:tap",), delegate_to="ghost")
    with pytest.raises(ValidationError, match="delegate_to unknown service ghost"):
        RouteTable(services=services, routes=(delegating,))
    with pytest.raises(ValidationError, match="path exact /r/x declared twice"):
        RouteTable(
            services=services,
            routes=(
                _route(scopes=("read:tap",), anonymous_paths=("x",)),
                _route(
                    name="s", path="/r/x", match=Match.EXACT, access=Access.ANONYMOUS
                ),
            ),
        )


def test_route_table_is_immutable() -> None:
    route = ROUTE_TABLE.routes[0]
    with pytest.raises(ValidationError):
        route.path = "/elsewhere"  # type: ignore[misc]


def test_describe_gives_ingress_annotations() -> None:
    portal = next(r for r in ROUTE_TABLE.routes if r.name == "portal")
    described = describe_route(ROUTE_TABLE, portal, "http://gw:8080")
    annotations = described["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"] == (
        "http://gw:8080/ingress/auth?scope=exec:portal&satisfy=all&delegate_to=portal"
        "&delegate_scope=read:tap&delegate_scope=read:image&auth_type=bearer"
    )
    assert annotations["nginx.ingress.kubernetes.io/auth-signin"].endswith("/login")
    assert annotations["nginx.ingress.kubernetes.io/auth-response-headers"].split(
        ","
    ) == list(AUTH_RESPONSE_HEADERS)
    assert described["pathType"] == "Prefix"
    assert described["upstream"]["service"] == "portal"
    login = next(r for r in ROUTE_TABLE.routes if r.name == "gateway-login")
    assert describe_route(ROUTE_TABLE, login)["annotations"] == {}


def test_cli_routes_yaml_for_a_service() -> None:
    result = CliRunner().invoke(
        main, ["routes", "--service", "tap", "--format", "yaml"]
    )
    assert result.exit_code == 0, result.output
    routes = yaml.safe_load(result.output)
    assert [(r["name"], r["path"], r["pathType"]) for r in routes] == [
        ("tap-availability", "/api/tap/availability", "Exact"),
        ("tap-capabilities", "/api/tap/capabilities", "Exact"),
        ("tap", "/api/tap", "Prefix"),
    ]
    assert routes[0]["authUrl"].endswith("/ingress/anonymous")
    assert routes[2]["authType"] == "basic"
    assert routes[2]["delegateScopes"] == ["read:tap"]
    assert routes[2]["upstream"] == {
        "service": "tap",
        "namespace": "tap",
        "port": 8080,
        "localHost": "127.0.0.1",
        "localPort": 8005,
    }


def test_cli_routes_default_and_all() -> None:
    runner = CliRunner()
    enabled = runner.invoke(main, ["routes"])
    assert enabled.exit_code == 0
    assert "/login" in enabled.output
    assert "/api/tap" in enabled.output
    assert "/portal" not in enabled.output
    everything = runner.invoke(main, ["routes", "--all", "--format", "json"])
    assert everything.exit_code == 0
    assert "/portal" in everything.output


def test_cli_routes_unknown_service() -> None:
    result = CliRunner().invoke(main, ["routes", "--service", "nope"])
    assert result.exit_code == 2
    assert "unknown service 'nope'" in result.output


def test_platform_ingress_spec_keeps_anonymous_paths_on_the_route() -> None:
    tap = next(r for r in ROUTE_TABLE.routes if r.name == "tap")
    assert platform_ingress_spec(ROUTE_TABLE, tap) == {
        "description": "TAP 1.1 catalog queries",
        "path": "/api/tap",
        "match": "prefix",
        "backend": {"service": "tap", "port": 8080},
        "access": "scopes",
        "scopes": ["read:tap"],
        "delegateTo": "tap",
        "delegateScopes": ["read:tap"],
        "authType": "basic",
        "anonymousPaths": ["availability", "capabilities"],
    }


def test_platform_ingress_spec_states_match_and_access_only_of_the_defaults() -> None:
    login = next(r for r in ROUTE_TABLE.routes if r.name == "gateway-login")
    spec = platform_ingress_spec(
        ROUTE_TABLE, login, host="data.lsst.cloud", tls_secret_name="tls"
    )
    assert spec == {
        "description": login.description,
        "path": "/login",
        "match": "prefix",
        "backend": {"service": "gateway", "port": 8080},
        "access": "service",
        "host": "data.lsst.cloud",
        "tlsSecretName": "tls",
    }
    hub = next(r for r in ROUTE_TABLE.routes if r.name == "nublado-hub")
    hub_spec = platform_ingress_spec(ROUTE_TABLE, hub)
    assert hub_spec["backend"] == {"service": "proxy-public", "port": 80}
    assert {k: hub_spec[k] for k in ("notebook", "loginRedirect", "websocket")} == {
        "notebook": True,
        "loginRedirect": True,
        "websocket": True,
    }
    assert hub_spec["minimumLifetime"] == hub.minimum_lifetime
    assert "satisfy" not in hub_spec
    assert "delegateTo" not in hub_spec


def test_every_spec_field_is_a_route_field_by_its_alias() -> None:
    aliases = {f.alias for f in Route.model_fields.values()}
    for route in ROUTE_TABLE.routed(ALL, expand=False):
        if route.internal:
            continue
        spec = platform_ingress_spec(ROUTE_TABLE, route, host="h", tls_secret_name="s")
        assert set(spec) - {"backend", "host", "tlsSecretName"} <= aliases
        rebuilt = Route.model_validate(
            {
                "name": route.name,
                "service": route.service,
                **{k: v for k, v in spec.items() if k in aliases},
            }
        )
        assert rebuilt == route


def test_internal_routes_have_no_platform_ingress() -> None:
    internal = next(r for r in ROUTE_TABLE.routes if r.name == "gateway-ingress")
    with pytest.raises(RouteTableError, match="internal: never routed from outside"):
        platform_ingress_spec(ROUTE_TABLE, internal)


def test_cli_platformingress_for_a_service() -> None:
    result = CliRunner().invoke(
        main, ["routes", "--service", "gateway", "--format", "platformingress"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Generated from the platform's route table")
    entries = yaml.safe_load(result.output)
    declared = [r for r in ROUTE_TABLE.routes if r.service == "gateway"]
    assert [e["name"] for e in entries] == [r.name for r in declared if not r.internal]
    assert "gateway-ingress" in {r.name for r in declared}
    assert entries == [
        platform_ingress_entry(ROUTE_TABLE, r) for r in declared if not r.internal
    ]


def test_cli_platformingress_does_not_expand_anonymous_paths() -> None:
    result = CliRunner().invoke(
        main, ["routes", "--all", "--format", "platformingress"]
    )
    assert result.exit_code == 0, result.output
    entries = {e["name"]: e for e in yaml.safe_load(result.output)}
    assert "tap-availability" not in entries
    assert entries["tap"]["spec"]["anonymousPaths"] == ["availability", "capabilities"]
    assert entries["portal"]["service"] == "portal"
    assert not any(e["spec"]["path"].startswith("/ingress") for e in entries.values())
    enabled = CliRunner().invoke(main, ["routes", "--format", "platformingress"])
    assert "portal" not in {e["name"] for e in yaml.safe_load(enabled.output)}
