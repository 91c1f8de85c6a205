"""The signed file route: ``GET /api/butler/files/<repository>/<path>``.

Serves a file of a local repository's datastore to whoever presents a URL
the Butler server signed (:mod:`rsp_butler.signing`), without credentials,
as object storage serves presigned URLs. The ingress admits the route
anonymously; the signature is the authorization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from .datastore import file_signer, served_repository_roots
from .signing import SignatureError

__all__ = ["FILES_PATH", "router"]

FILES_PATH = "/api/butler/files"
"""Path of the route, below the Butler route of the route table."""

router = APIRouter()


def _resolve(repository: str, path: str) -> Path:
    root = served_repository_roots().get(repository)
    if root is None:
        raise HTTPException(status_code=404, detail="no such file")
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail="no such file")
    return target


@router.api_route(
    f"{FILES_PATH}/{{repository}}/{{path:path}}",
    methods=["GET", "HEAD"],
    summary="A file of a dataset, through a URL the Butler server signed",
    response_class=FileResponse,
)
def get_file(
    repository: str,
    path: str,
    expires: Annotated[int, Query(ge=0)],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> FileResponse:
    try:
        file_signer().check(repository, path, expires, signature)
    except SignatureError as e:
        raise HTTPException(status_code=403, detail=str(e)) from None
    return FileResponse(_resolve(repository, path))
