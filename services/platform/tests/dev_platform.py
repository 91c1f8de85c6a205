"""Running the local platform (``rsp-platform dev``) as a test would run it."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from platform_stubs import free_port
from rsp_platform.devtap import drop_tap_database

__all__ = [
    "RSP_PLATFORM",
    "RunningPlatform",
    "alive",
    "command_line",
    "descendants",
    "http_get",
    "running_platform",
]

RSP_PLATFORM = Path(sys.executable).parent / "rsp-platform"


@dataclass(frozen=True)
class RunningPlatform:
    """A local platform started by ``rsp-platform dev``."""

    process: subprocess.Popen[bytes]
    port: int
    state_dir: Path
    log: Path

    @property
    def url(self) -> str:
        """The platform's base URL, as the browser sees it."""
        return f"http://localhost:{self.port}"


def http_get(port: int, path: str) -> tuple[int, str]:
    """GET a path from the platform on loopback: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


# A cold start (fresh clone: every module compiled on first import) of seven
# processes on a busy two-core machine has taken more than 90 s.
START_TIMEOUT = 240.0
"""Seconds the local platform may take to answer its first request."""


def _wait_until_served(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"rsp-platform dev exited ({process.returncode}):\n{log.read_text()}"
            )
        try:
            status, _ = http_get(port, "/login")
        except OSError:
            status = 0
        if 0 < status < 500:
            return
        time.sleep(0.3)
    pytest.fail(
        f"the platform did not answer /login within {START_TIMEOUT:.0f} s:\n"
        f"{log.read_text()}"
    )


@contextmanager
def running_platform(workdir: Path) -> Iterator[RunningPlatform]:
    """Start ``rsp-platform dev`` on free ports in ``workdir``; kill it at the end.

    The environment is cleared of ``RSP_*`` variables so that the developer's
    own settings cannot leak into the test.
    """
    port, gateway_port = free_port(), free_port()
    log = workdir / "dev.log"
    state_dir = workdir / ".dev"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RSP_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(RSP_PLATFORM),
                "dev",
                "--port",
                str(port),
                "--gateway-port",
                str(gateway_port),
                "--state-dir",
                str(state_dir),
            ],
            cwd=workdir,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_until_served(port, process, log)
            yield RunningPlatform(process, port, state_dir, log)
        finally:
            stopped = _stop(process)
            drop_tap_database(state_dir, environ)
        if not stopped:
            pytest.fail(
                f"rsp-platform dev did not stop within {STOP_TIMEOUT:.0f} s of"
                f" SIGTERM:\n{log.read_text()[-5000:]}"
            )


STOP_TIMEOUT = 30.0
"""Seconds ``rsp-platform dev`` may take to stop everything after SIGTERM."""


def _stop(process: subprocess.Popen[bytes]) -> bool:
    """Stop the platform as Ctrl-C would; whether it stopped in time.

    SIGTERM, because honcho then stops every process it started (a SIGKILL
    would leave the gateway, the hub, its proxy and labs running).
    """
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux ``/proc``), right now."""
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> list[str]:
    """The process's arguments ([] once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]
