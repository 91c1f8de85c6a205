"""The discovery document of an environment, from its configuration and routes.

Clients look services up by the names of the contract (``platform.md``,
"Service discovery"); each name is tied here to the route of the route table
that serves it, so URLs and required scopes come from the one declaration of
the routes. A service is listed only when the environment runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import HttpUrl
from rsp_platform.repositories import butler_config_url
from rsp_platform.routes import ROUTE_TABLE, Route, RouteTable, RouteTableError
from rubin.repertoire import (
    ApiVersion,
    DataService,
    Dataset,
    Discovery,
    Environment,
    InternalService,
    Services,
    UiService,
)

from .config import Config

__all__ = [
    "DATA_LISTINGS",
    "INTERNAL_LISTINGS",
    "UI_LISTINGS",
    "Listing",
    "build_discovery",
]


@dataclass(frozen=True)
class Listing:
    """A name clients look up, and the route that serves it.

    Parameters
    ----------
    name
        The name in the discovery document (``gafaelfawr``, ``tap``, ...).
    route
        Name of the route in the route table.
    path
        URL path when it is not the route's own path (``/nb/`` for the hub
        and labs below it).
    versions
        API versions, all served at the same URL.
    openapi_path
        Path of the service's OpenAPI document, if it has one.
    """

    name: str
    route: str
    path: str | None = None
    versions: tuple[str, ...] = ()
    openapi_path: str | None = None


INTERNAL_LISTINGS = (
    Listing(
        "gafaelfawr", "gateway-api", versions=("v1",), openapi_path="/auth/openapi.json"
    ),
)
"""Internal services (``url_for_internal``)."""

UI_LISTINGS = (
    Listing("nublado", "nublado-hub", path="/nb/"),
    Listing("portal", "portal", path="/portal/"),
)
"""User interfaces (``url_for_ui``)."""

DATA_LISTINGS = (Listing("tap", "tap"),)
"""Data services of a dataset (``url_for_data``)."""


def _route(table: RouteTable, name: str) -> Route:
    for route in table.routes:
        if route.name == name:
            return route
    raise RouteTableError(f"the route table has no route named {name!r}")


def _url(base: str, listing: Listing, route: Route) -> HttpUrl:
    return HttpUrl(base + (listing.path or route.path))


def _internal(base: str, listing: Listing, route: Route) -> InternalService:
    url = _url(base, listing, route)
    return InternalService(
        url=url,
        openapi=HttpUrl(base + listing.openapi_path) if listing.openapi_path else None,
        required_scopes=list(route.scopes),
        versions={v: ApiVersion(url=url) for v in listing.versions},
    )


def _data(base: str, listing: Listing, route: Route) -> DataService:
    return DataService(
        url=_url(base, listing, route),
        required_scopes=list(route.scopes),
        versions={
            v: ApiVersion(url=_url(base, listing, route)) for v in listing.versions
        },
    )


def build_discovery(config: Config, table: RouteTable = ROUTE_TABLE) -> Discovery:
    """The ``Discovery`` model of the environment ``config`` describes.

    Raises
    ------
    RouteTableError
        If a listing names a route that the route table does not declare.
    """
    base = config.external_url
    enabled = set(config.enabled_services)

    def runs(listing: Listing) -> Route | None:
        route = _route(table, listing.route)
        return route if route.service in enabled else None

    internal = {
        listing.name: _internal(base, listing, route)
        for listing in INTERNAL_LISTINGS
        if (route := runs(listing)) is not None
    }
    ui = {
        listing.name: UiService(
            url=_url(base, listing, route), required_scopes=list(route.scopes)
        )
        for listing in UI_LISTINGS
        if (route := runs(listing)) is not None
    }
    datasets: dict[str, Dataset] = {}
    for label, dataset in sorted(config.datasets.items()):
        services = {
            listing.name: _data(base, listing, route)
            for listing in DATA_LISTINGS
            if listing.name in dataset.services and (route := runs(listing)) is not None
        }
        butler_config = None
        if dataset.butler and "butler" in enabled:
            butler_config = HttpUrl(butler_config_url(base, label, table))
        datasets[label] = Dataset(
            butler_config=butler_config,
            description=dataset.description,
            docs_url=dataset.docs_url,
            services=services,
        )
    host = config.base_url.host or base
    name = config.environment_name or host
    environment = Environment(
        name=name,
        label=config.environment,
        title=config.title,
        title_long=f"{config.title} ({name})",
        docs_url=HttpUrl(str(config.docs_url or base + "/")),
    )
    return Discovery(
        applications=sorted(enabled),
        datasets=datasets,
        environment=environment,
        environment_name=name,
        services=Services(internal=internal, ui=ui),
    )
