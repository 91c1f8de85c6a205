"""End to end on the local platform as ``make dev`` runs it.

A user logs in through the gateway, spawns a lab with the spawn form, and
code in the lab's kernel reads a dataset with ``Butler("dp01")`` (and runs a
TAP query through ``lsst.rsp`` discovery when the TAP service is routed);
then the lab is stopped and its token no longer works.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from nbtest.devplatform import DevPlatform, dev_platform
from nbtest.kernel import run_code
from nbtest.platform import dev_login
from rsp_platform.routes import ENABLED_SERVICES

BUTLER_CODE = """
from lsst.daf.butler import Butler
butler = Butler("dp01")
refs = butler.query_datasets("objectTable", collections="2.2i/runs/DP0.1", limit=1)
table = butler.get(refs[0])
print(len(table) > 0, "coord_ra" in table.colnames)
"""

TAP_CODE = """
import os
from pathlib import Path
import pyvo
import lsst.rsp._discovery as discovery
from lsst.rsp import get_tap_service
from lsst.rsp.utils import get_pyvo_auth
# Local labs cannot have /etc/nublado/discovery/v1.json (where lsst.rsp reads
# the document on Kubernetes): point lsst.rsp at the lab's discovery file.
discovery._DISCOVERY_PATH = Path(os.environ["RSP_DISCOVERY_FILE"])
url = discovery.get_service_url("tap", "dp01")
query = "SELECT TOP 3 objectId FROM dp01_dc2_catalogs.object"
found = pyvo.dal.TAPService(url, session=get_pyvo_auth()).search(query)
service = get_tap_service("tap")
print(len(found), len(service.search(query)), url == service.baseurl)
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPlatform]:
    with dev_platform(tmp_path_factory.mktemp("dev")) as running:
        yield running


def spawn_with_the_form(platform: DevPlatform, username: str) -> httpx.Cookies:
    """Log in, post the spawn form, wait for the lab, open it; the cookies."""
    with httpx.Client(base_url=platform.url, follow_redirects=True, timeout=60) as b:
        dev_login(b, username)
        form = b.get("/nb/hub/spawn")
        xsrf = re.search(r"_xsrf=([^\"&]+)", form.text)
        assert xsrf, form.text
        posted = b.post(
            "/nb/hub/spawn",
            data={
                "_xsrf": xsrf.group(1),
                "image_class": "recommended",
                "size": "small",
            },
        )
        assert posted.status_code == 200
        deadline = time.monotonic() + 90
        url = f"/nb/hub/api/users/{username}"
        while not b.get(url).json()["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, platform.log.read_text()[-5000:]
            time.sleep(0.3)
        assert b.get(f"/nb/user/{username}/lab").status_code == 200
        return b.cookies


async def test_user_spawns_from_the_form_reads_dp01_and_stops(
    platform: DevPlatform,
) -> None:
    cookies = await asyncio.to_thread(spawn_with_the_form, platform, "astro")
    async with httpx.AsyncClient(
        base_url=platform.url, cookies=cookies, timeout=60
    ) as client:
        token = (
            await run_code(
                client, "astro", "import os; print(os.environ['ACCESS_TOKEN'])"
            )
        ).strip()
        assert token.startswith("gt-")
        assert (await run_code(client, "astro", BUTLER_CODE)).split() == [
            "True",
            "True",
        ]
        if "tap" in ENABLED_SERVICES:
            tap = await run_code(client, "astro", TAP_CODE)
            assert tap.split() == ["3", "3", "True"], tap
        info = await client.get(
            "/auth/api/v1/token-info", headers={"Authorization": f"Bearer {token}"}
        )
        assert info.json()["token_type"] == "notebook"
        xsrf_hub = next(
            c.value
            for c in cookies.jar
            if c.name == "_xsrf" and c.path.rstrip("/") == "/nb/hub"
        )
        stopped = await client.delete(
            "/nb/hub/api/users/astro/server", headers={"X-XSRFToken": xsrf_hub or ""}
        )
        assert stopped.status_code in (202, 204)
        deadline = time.monotonic() + 30
        while (await client.get("/nb/hub/api/users/astro")).json()["servers"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
        # The stopped lab's token is revoked.
        after = await client.get(
            "/auth/api/v1/user-info", headers={"Authorization": f"Bearer {token}"}
        )
        assert after.status_code == 401
