"""The whole local platform (``rsp-platform dev``, as ``make dev`` runs it).

Started from the repository root (so labs run from ``.dev/lab/venv``, built
from the lab lock) with its state in a temporary directory and free ports
for the ingress and the gateway; stopped (SIGTERM to honcho, which stops
every process, labs included) at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rsp_platform.devtap import drop_tap_database

from .platform import REPO, free_port

__all__ = ["DevPlatform", "dev_platform"]


@dataclass(frozen=True)
class DevPlatform:
    """A running ``rsp-platform dev``."""

    port: int
    state_dir: Path
    log: Path

    @property
    def url(self) -> str:
        """Base URL as a browser sees it."""
        return f"http://localhost:{self.port}"

    @property
    def bootstrap_token(self) -> str:
        """The admin token the platform generated."""
        return (self.state_dir / "bootstrap-token").read_text().strip()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # The first run builds .dev/lab/venv from the lab lock: allow for it.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rsp-platform dev exited:\n{log.read_text()[-5000:]}")
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            status = 0
        if 0 < status < 500:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-5000:]}")


def _wait_for_hub(platform: DevPlatform, process: subprocess.Popen[bytes]) -> None:
    """Wait until the hub answers behind the ingress (not a 502 from nginx)."""
    created = httpx.post(
        f"{platform.url}/auth/api/v1/tokens",
        headers={"Authorization": f"Bearer {platform.bootstrap_token}"},
        json={
            "username": "bot-hub-probe",
            "token_type": "service",
            "scopes": ["exec:notebook"],
        },
        timeout=10,
    )
    created.raise_for_status()
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            response = httpx.get(f"{platform.url}/nb/hub/api", headers=headers)
        except httpx.HTTPError:
            pass
        else:
            if response.status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the hub did not answer:\n{platform.log.read_text()[-5000:]}")


@contextmanager
def dev_platform(workdir: Path) -> Iterator[DevPlatform]:
    """Run ``rsp-platform dev`` until the hub answers; stop it at the end."""
    port = free_port()
    state_dir = workdir / "state"
    log = workdir / "dev.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RSP_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "rsp-platform"),
                "dev",
                "--port",
                str(port),
                "--gateway-port",
                str(free_port()),
                "--state-dir",
                str(state_dir),
            ],
            cwd=REPO,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/login", process, log)
        platform = DevPlatform(port=port, state_dir=state_dir, log=log)
        _wait_for_hub(platform, process)
        yield platform
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        drop_tap_database(state_dir, environ)
