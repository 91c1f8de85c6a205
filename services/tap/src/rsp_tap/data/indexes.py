"""The indexes the loader builds on each catalog table (see ``TABLE_LAYOUTS``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.schema import CatalogTable
from .felis import TABLE_LAYOUTS
from .setup import quote

__all__ = ["IndexSpec", "index_specs"]


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One index of a catalog table."""

    name: str
    sql: str
    columns: tuple[str, ...]
    """The table columns it is built on."""

    spatial: bool = False


def index_specs(table: CatalogTable) -> list[IndexSpec]:
    """The indexes the loader builds on a catalog table (see TABLE_LAYOUTS)."""
    layout = TABLE_LAYOUTS[table.name]
    qualified = f"{quote(table.schema_name)}.{quote(table.name)}"
    specs: list[IndexSpec] = []
    if layout.primary_key:
        columns = ", ".join(quote(c) for c in layout.primary_key)
        name = f"{table.name}_pkey"
        specs.append(
            IndexSpec(
                name,
                f"ALTER TABLE {qualified} ADD CONSTRAINT {quote(name)}"
                f" PRIMARY KEY ({columns})",
                layout.primary_key,
            )
        )
    for column in layout.indexed:
        name = f"{table.name}_{column}_idx"
        specs.append(
            IndexSpec(
                name,
                f"CREATE INDEX {quote(name)} ON {qualified} ({quote(column)})",
                (column,),
            )
        )
    if layout.position:
        ra, dec = (quote(c) for c in layout.position)
        name = f"{table.name}_position_idx"
        specs.append(
            IndexSpec(
                name,
                f"CREATE INDEX {quote(name)} ON {qualified}"
                f" USING gist (spoint(radians({ra}), radians({dec})))",
                layout.position,
                spatial=True,
            )
        )
    return specs
