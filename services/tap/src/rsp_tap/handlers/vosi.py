"""VOSI endpoints: availability, capabilities (both anonymous) and tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..config import PATH_PREFIX
from ..dependencies.context import Context, User
from ..exceptions import NotFoundError, UsageError
from ..views.examples import examples_document
from ..views.vosi import (
    availability_document,
    capabilities_document,
    table_document,
    tableset_document,
)
from .responses import xml_response

__all__ = ["router"]

router = APIRouter(prefix=PATH_PREFIX)


@router.get("/availability", summary="VOSI availability (anonymous)")
async def availability(context: Context) -> Response:
    """Whether the service can take queries now."""
    process = context.factory.context
    alive = await process.job_store_alive()
    note = "The service is accepting queries" if alive else "The job store is down"
    return xml_response(availability_document(alive, note))


@router.get("/capabilities", summary="VOSI capabilities (anonymous)")
async def capabilities(context: Context) -> Response:
    """TAP 1.1 capabilities (TAPRegExt) and the VOSI endpoints."""
    document = capabilities_document(
        context.config.service_url, context.factory.limits()
    )
    return xml_response(document)


@router.get("/tables", summary="VOSI tableset")
async def tables(
    context: Context,
    _user: User,
    detail: Annotated[
        str | None, Query(description="min: tables without columns")
    ] = None,
) -> Response:
    """Every schema and table; with ``detail=min`` without their columns."""
    if detail is not None and detail.lower() not in ("min", "max"):
        raise UsageError("detail must be min or max")
    schema = context.factory.context.schema
    full = detail is None or detail.lower() == "max"
    return xml_response(tableset_document(schema, detail=full))


@router.get("/tables/{name}", summary="VOSI table")
async def table(context: Context, _user: User, name: str) -> Response:
    """One table with its columns, by qualified name (``schema.table``)."""
    schema = context.factory.context.schema
    found = next((t for t in schema.tables if t.qualified_name == name), None)
    if found is None:
        found = next(
            (t for t in schema.tables if t.qualified_name.lower() == name.lower()), None
        )
    if found is None:
        raise NotFoundError(f"No table {name[:200]!r}")
    return xml_response(table_document(schema, found))


@router.get("/examples", summary="DALI examples")
async def examples(_user: User) -> Response:
    """Example queries (XHTML with RDFa, as DALI describes)."""
    return Response(
        examples_document(), media_type="application/xhtml+xml; charset=utf-8"
    )
