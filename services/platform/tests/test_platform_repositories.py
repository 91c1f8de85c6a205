"""The repository index and discovery's butler_config come from the Butler route."""

from __future__ import annotations

import pytest
from rsp_platform.repositories import (
    butler_base_url,
    butler_config_url,
    repository_index,
    repository_index_url,
)
from rsp_platform.routes import ROUTE_TABLE, RouteTable, RouteTableError


def test_urls_follow_the_butler_route() -> None:
    assert butler_base_url("https://data.example.org/") == (
        "https://data.example.org/api/butler"
    )
    assert repository_index_url("http://localhost:8000") == (
        "http://localhost:8000/api/butler/configs/repositories.yaml"
    )
    assert butler_config_url("http://localhost:8000", "dp01") == (
        "http://localhost:8000/api/butler/repo/dp01/butler.yaml"
    )


def test_index_maps_every_label_in_order() -> None:
    assert repository_index("https://h", ["dp02", "dp01"]) == {
        "dp01": "https://h/api/butler/repo/dp01/butler.yaml",
        "dp02": "https://h/api/butler/repo/dp02/butler.yaml",
    }


def test_a_table_without_butler_route_is_an_error() -> None:
    table = RouteTable(
        services=ROUTE_TABLE.services,
        routes=tuple(r for r in ROUTE_TABLE.routes if r.name != "butler"),
    )
    with pytest.raises(RouteTableError, match="butler"):
        butler_base_url("https://h", table)
