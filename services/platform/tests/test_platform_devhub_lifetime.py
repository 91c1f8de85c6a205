"""``make dev``: nothing of the notebooks outlives a hub that is killed.

The hub's children (labs) and companions (its proxy and idle culler, their
own Procfile processes) must not keep honcho waiting: when the hub dies at
once (SIGKILL, a crash), its lab dies with it and ``rsp-platform dev``
stops everything.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from dev_platform import (
    RunningPlatform,
    alive,
    command_line,
    descendants,
    running_platform,
)

pytestmark = pytest.mark.skipif(
    shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None,
    reason="nginx is not installed (scripts/bootstrap.sh installs it when root)",
)


def _find(platform: RunningPlatform, what: str, timeout: float = 60) -> int:
    """The pid of the platform's process whose arguments contain ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in descendants(platform.process.pid):
            if any(what in arg for arg in command_line(pid)):
                return pid
        time.sleep(0.2)
    pytest.fail(f"no process runs {what}:\n{platform.log.read_text()[-5000:]}")


def _start_lab(platform: RunningPlatform, username: str) -> None:
    """Log in with the development provider and start the user's lab."""
    with httpx.Client(base_url=platform.url, timeout=60) as client:
        form = client.get("/login", params={"rd": "/nb/hub/home"})
        state = re.search(r'name="state" value="([^"]+)"', form.text)
        assert state, form.text
        client.post(
            "/login",
            data={"state": state.group(1), "username": username, "groups": "g_users"},
        )
        deadline = time.monotonic() + 60
        while client.get("/nb/hub/home", follow_redirects=True).status_code != 200:
            assert time.monotonic() < deadline, platform.log.read_text()[-5000:]
            time.sleep(0.5)
        xsrf = client.cookies.get("_xsrf", path="/nb/hub/") or ""
        started = client.post(
            f"/nb/hub/api/users/{username}/server", headers={"X-XSRFToken": xsrf}
        )
        assert started.status_code in (201, 202), started.text
        deadline = time.monotonic() + 120
        while True:
            model = client.get(f"/nb/hub/api/users/{username}").json()
            server = model["servers"].get("")
            if server and server["ready"]:
                return
            assert time.monotonic() < deadline, platform.log.read_text()[-5000:]
            time.sleep(0.2)


def test_a_killed_hub_takes_its_lab_along_and_make_dev_stops(
    tmp_path: Path,
) -> None:
    with running_platform(tmp_path) as platform:
        hub = _find(platform, "jupyterhub_config.py")
        culler = _find(platform, "jupyterhub_idle_culler")
        # The culler is honcho's process, not the hub's child, and the hub
        # accepts its token: its first pass lists the users.
        assert culler not in descendants(hub)
        listed = re.compile(r"200 GET /nb/hub/api/users\S* \(idle-culler@")
        deadline = time.monotonic() + 60
        while not listed.search(platform.log.read_text()):
            assert time.monotonic() < deadline, platform.log.read_text()[-5000:]
            time.sleep(0.5)
        _start_lab(platform, "alice")
        lab = _find(platform, "jupyterhub-singleuser")
        assert lab in descendants(hub)

        os.kill(hub, signal.SIGKILL)
        # honcho sees the hub gone (nothing else holds its output) and stops
        # the other processes.
        try:
            platform.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(
                "rsp-platform dev still runs 30 s after the hub was killed:\n"
                + platform.log.read_text()[-5000:]
            )
        deadline = time.monotonic() + 10
        while (alive(lab) or alive(culler)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(lab), "the lab outlived the hub"
        assert not alive(culler), "the culler outlived make dev"
