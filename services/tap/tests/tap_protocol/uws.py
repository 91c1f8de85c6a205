"""Helpers that drive and read UWS jobs in tests."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from httpx import AsyncClient

from .conftest import TAP

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


async def create_job(client: AsyncClient, **params: Any) -> str:
    """Create a job with the given parameters; its id."""
    data = {"LANG": "ADQL", **params}
    response = await client.post(f"{TAP}/async", data=data)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{TAP}/async/")
    return location.rsplit("/", 1)[1]


async def job_xml(client: AsyncClient, job_id: str, **params: Any) -> ET.Element:
    """The job document."""
    response = await client.get(f"{TAP}/async/{job_id}", params=params)
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


async def wait_for_phase(
    client: AsyncClient, job_id: str, *phases: str, within: float = 10
) -> ET.Element:
    """Poll (with WAIT) until the job reaches one of ``phases``."""
    async with asyncio.timeout(within):
        while True:
            job = await job_xml(client, job_id, WAIT=1)
            if job.findtext(f"{UWS}phase") in phases:
                return job
