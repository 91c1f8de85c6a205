"""Where clients find the platform's Butler repositories (``platform.md``, Data).

The Butler server publishes a repository index, a YAML mapping from a
repository label (``dp01``) to the URL of that repository's client
configuration; ``Butler("dp01")`` reads it through
``DAF_BUTLER_REPOSITORY_INDEX``. Service discovery names the same URL as the
dataset's ``butler_config``. Both are built here, from the Butler route of
the route table, so the index and discovery can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from .routes import ROUTE_TABLE, RouteTable, RouteTableError

__all__ = [
    "BUTLER_ROUTE",
    "REPOSITORY_INDEX_PATH",
    "butler_base_url",
    "butler_config_url",
    "repository_index",
    "repository_index_url",
]

BUTLER_ROUTE = "butler"
"""Name of the route of the Butler server in the route table."""

REPOSITORY_INDEX_PATH = "configs/repositories.yaml"
"""Path of the repository index below the Butler route."""


def butler_base_url(base_url: str, table: RouteTable = ROUTE_TABLE) -> str:
    """External URL of the Butler server, e.g. ``https://host/api/butler``.

    Raises
    ------
    RouteTableError
        If the route table has no Butler route.
    """
    for route in table.routes:
        if route.name == BUTLER_ROUTE:
            return base_url.rstrip("/") + route.path
    raise RouteTableError(f"the route table has no route named {BUTLER_ROUTE!r}")


def butler_config_url(
    base_url: str, label: str, table: RouteTable = ROUTE_TABLE
) -> str:
    """URL of the client configuration of repository ``label``.

    The Butler server answers it (``/repo/<label>/butler.yaml``) with the
    configuration of a ``RemoteButler`` pointing back at itself.
    """
    return f"{butler_base_url(base_url, table)}/repo/{label}/butler.yaml"


def repository_index_url(base_url: str, table: RouteTable = ROUTE_TABLE) -> str:
    """URL of the repository index (``DAF_BUTLER_REPOSITORY_INDEX``)."""
    return f"{butler_base_url(base_url, table)}/{REPOSITORY_INDEX_PATH}"


def repository_index(
    base_url: str, labels: Iterable[str], table: RouteTable = ROUTE_TABLE
) -> dict[str, str]:
    """The repository index: label -> client configuration URL, sorted by label."""
    return {
        label: butler_config_url(base_url, label, table) for label in sorted(labels)
    }
