"""The shape of error responses, for the API documentation."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

__all__ = ["ErrorDetail", "ErrorModel"]


class ErrorDetail(BaseModel):
    """One problem with a request."""

    msg: Annotated[str, Field(description="What went wrong, for a person to read")]
    type: Annotated[str, Field(description="Machine-readable kind of error")]
    loc: Annotated[
        list[str | int] | None,
        Field(description="Where the problem is: location, then field"),
    ] = None


class ErrorModel(BaseModel):
    """Body of every error response (FastAPI's shape)."""

    detail: list[ErrorDetail]
