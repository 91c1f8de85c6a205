"""The routes of the data services: discovery, the Butler server and its files."""

from __future__ import annotations

from rsp_platform.routes import ROUTE_TABLE, Access, auth_query

ENABLED = {"gateway", "repertoire", "butler"}


def _route(path: str) -> str:
    route = ROUTE_TABLE.route_for(path, ENABLED)
    assert route is not None, path
    return route.name


def test_butler_api_needs_read_image_with_a_delegated_token() -> None:
    route = next(r for r in ROUTE_TABLE.routes if r.name == "butler")
    assert route.path == "/api/butler"
    assert route.access is Access.SCOPES
    assert route.scopes == ("read:image",)
    assert route.delegate_to == "butler"
    assert route.delegate_scopes == ("read:image",)
    assert route.use_authorization
    query = auth_query(route) or ""
    assert "scope=read:image" in query
    assert "delegate_to=butler" in query
    for path in (
        "/api/butler/repo/dp01/v1/universe",
        "/api/butler/repo/dp01/v1/get_file/x",
        "/api/butler/repo/dp02/butler.yaml",
        "/api/butler/configs/other.yaml",
    ):
        assert _route(path) == "butler", path


def test_index_client_configuration_and_signed_files_are_anonymous() -> None:
    for path in (
        "/api/butler/configs/repositories.yaml",
        "/api/butler/repo/dp01/butler.yaml",
        "/api/butler/repo/dp01/butler.json",
        "/api/butler/files/dp01/a/b.fits",
    ):
        route = ROUTE_TABLE.route_for(path, ENABLED)
        assert route is not None
        assert route.access is Access.ANONYMOUS, path
        assert route.service == "butler"


def test_discovery_is_anonymous() -> None:
    route = ROUTE_TABLE.route_for("/repertoire/discovery", ENABLED)
    assert route is not None
    assert route.access is Access.ANONYMOUS
    assert route.service == "repertoire"
