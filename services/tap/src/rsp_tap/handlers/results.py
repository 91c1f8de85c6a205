"""``/results``: result files of the local result storage (``make dev``).

Only the job's owner may fetch a result. Production keeps results in a
bucket and hands out signed URLs instead; there this route answers 404.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..config import PATH_PREFIX
from ..dependencies.context import Context, User
from ..exceptions import ResultNotFoundError
from ..storage.results import LocalResultStore

__all__ = ["router"]

router = APIRouter(prefix=PATH_PREFIX)

_NAME_RE = re.compile(r"^result\.[a-z0-9]{1,16}$")


@router.get("/results/{job_id}/{name}", summary="A stored result (local storage)")
async def get_result_file(
    context: Context, user: User, job_id: str, name: str
) -> FileResponse:
    """The result file of one of the user's jobs."""
    store = context.factory.context.results
    key = f"{job_id}/{name}"
    if not isinstance(store, LocalResultStore) or not _NAME_RE.match(name):
        raise ResultNotFoundError("No such result")
    service = context.factory.create_job_service(context.logger)
    job = await service.owned_result(user, key)
    if job is None or job.result is None:
        raise ResultNotFoundError("No such result")
    return FileResponse(store.path(key), media_type=job.result.mime_type)
