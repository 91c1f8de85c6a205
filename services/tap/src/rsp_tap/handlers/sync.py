"""``/sync``: run a query and answer its result (GET or POST)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..config import PATH_PREFIX
from ..dependencies.context import Context, User
from ..dependencies.params import read_parameters
from ..exceptions import QueryTimeoutError

__all__ = ["router"]

router = APIRouter(prefix=PATH_PREFIX)


@router.api_route("/sync", methods=["GET", "POST"], summary="Synchronous query")
async def sync_query(request: Request, context: Context, user: User) -> Response:
    """Run LANG=ADQL QUERY=... and answer the result in RESPONSEFORMAT.

    A query that runs longer than the sync limit is stopped and answered
    with a DALI error that points at the async endpoint.
    """
    params, inline = await read_parameters(request, context.config)
    service = context.factory.create_query_service(context.logger)
    query = service.parse_request(params)
    timeout = context.config.sync_timeout.total_seconds()
    try:
        output = await service.run(query, inline, timeout=timeout)
    except QueryTimeoutError:
        raise QueryTimeoutError(
            f"The query ran longer than the {timeout:g} s allowed for sync"
            f" queries and was stopped; run it as an async job instead"
            f" (POST the same parameters to {context.factory.async_url})"
        ) from None
    context.logger.info(
        "Sync query", user=user, rows=output.rows, overflow=output.overflow
    )
    # The declared MIME type exactly (no charset added to text/csv).
    return Response(output.content, headers={"Content-Type": output.mime_type})
