"""Request parameters as DALI reads them: query string and form body together.

Names are case-insensitive (upper-cased here). A multipart body's file parts
are the inline uploads (``UPLOAD=name,param:<part>``), bounded in size while
they are read.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from ..config import Config
from ..exceptions import UploadTooLargeError, UsageError
from ..services.query import Parameters

__all__ = ["read_parameters"]

_MAX_FIELDS = 200
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_parameters(
    request: Request, config: Config
) -> tuple[Parameters, dict[str, bytes]]:
    """The request's parameters and its uploaded parts (by part name).

    Raises
    ------
    UploadTooLargeError
        If the body is larger than uploads may be.
    UsageError
        If the body cannot be read as a form.
    """
    items: list[tuple[str, str]] = list(request.query_params.multi_items())
    inline: dict[str, bytes] = {}
    if request.method != "POST":
        return Parameters(items), inline
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        return Parameters(items), inline
    max_body = config.upload_max_bytes * config.upload_max_tables + 1024 * 1024
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_body:
        raise UploadTooLargeError(
            f"The request body is larger than the limit of {max_body} bytes"
            f" (each uploaded table may have {config.upload_max_bytes} bytes)"
        )
    try:
        form = await request.form(
            max_files=config.upload_max_tables, max_fields=_MAX_FIELDS
        )
    except UploadTooLargeError:
        raise
    except Exception as e:  # malformed bodies raise several kinds
        raise UsageError(f"Cannot read the request body as a form: {e}") from None
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read(config.upload_max_bytes + 1)
                if len(content) > config.upload_max_bytes:
                    raise UploadTooLargeError(
                        f"Uploaded part {name!r} is larger than the limit of"
                        f" {config.upload_max_bytes} bytes"
                    )
                inline[name] = content
            else:
                items.append((name, value))
    finally:
        await form.close()
    return Parameters(items), inline
