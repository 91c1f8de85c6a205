"""The Jinja2 environment of the gateway's HTML pages.

Every page extends ``templates/base.html``; render them with
:func:`render_page` so that they all get the same globals and the same
protective headers (no caching, no framing).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

__all__ = ["PAGE_HEADERS", "PLATFORM_NAME", "STATIC_URL", "render_page", "templates"]

PLATFORM_NAME = "Science Platform"
"""Name shown in the header and title of every page."""

STATIC_URL = "/auth/static"
"""Path under which ``rsp_gateway/static`` is served (see ``main.py``)."""

PAGE_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Headers every HTML page of the gateway carries."""

_TEMPLATES = Path(__file__).parent.parent / "templates"

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
"""The shared templates; pages extend ``base.html``."""

templates.env.globals["platform_name"] = PLATFORM_NAME
templates.env.globals["static_url"] = STATIC_URL


def render_page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render the page template ``name`` into an HTML response.

    ``context`` may carry ``username`` (shows who is logged in and a logout
    link) plus whatever the template needs. The response is never cached
    and may not be framed.
    """
    all_headers = dict(PAGE_HEADERS)
    if headers:
        all_headers.update(headers)
    return templates.TemplateResponse(
        request,
        name,
        dict(context or {}),
        status_code=status_code,
        headers=all_headers,
    )
