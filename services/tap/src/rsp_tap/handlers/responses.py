"""Response helpers shared by the handlers."""

from __future__ import annotations

from fastapi.responses import Response

__all__ = ["XML_MEDIA_TYPE", "text_response", "xml_response"]

XML_MEDIA_TYPE = "application/xml"


def xml_response(content: bytes, status_code: int = 200) -> Response:
    """An XML document (VOSI, UWS)."""
    return Response(
        content, status_code=status_code, media_type=f"{XML_MEDIA_TYPE}; charset=utf-8"
    )


def text_response(content: str) -> Response:
    """A plain-text UWS value (phase, owner, times)."""
    return Response(content, media_type="text/plain; charset=utf-8")
