"""A local lab never outlives the hub, and the culler runs apart with its token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rsp_notebooks.culler import culler_exec, wait_for_hub
from rsp_notebooks.settings import SettingsError, load_settings

# A stand-in for the hub: starts a "lab" as LocalProcessSpawner.start does
# (its Popen arguments, updated with the spawner's popen_kwargs), says the
# lab's pid, then waits to be killed.
HUB = """
import json, subprocess, sys, time
from types import SimpleNamespace
from rsp_notebooks.local import LocalLabSpawner

user = SimpleNamespace(name="alice", url="/nb/user/alice/", escaped_name="alice")
spawner = LocalLabSpawner(user=user, homes_dir=sys.argv[1])
kwargs = {"preexec_fn": spawner.make_preexec_fn("alice"), "start_new_session": True}
kwargs.update(spawner.popen_kwargs)
lab = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"],
    stdout=subprocess.DEVNULL,
    **kwargs,
)
print(json.dumps({"lab": lab.pid}), flush=True)
time.sleep(120)
"""


def _state(pid: int) -> str | None:
    """The process's state letter, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death signal: Linux only"
)
def test_a_lab_keeps_its_home_and_the_hubs_group_and_dies_with_the_hub(
    tmp_path: Path,
) -> None:
    hub = subprocess.Popen(
        [sys.executable, "-c", HUB, str(tmp_path / "homes")],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    lab = 0
    try:
        assert hub.stdout is not None
        lab = json.loads(hub.stdout.readline())["lab"]
        assert _alive(lab)
        # JupyterHub's own preexec still ran: the lab works in its home.
        home = tmp_path / "homes" / "alice"
        assert Path(f"/proc/{lab}/cwd").resolve() == home.resolve()
        # In the hub's process group (JupyterHub: a session of its own).
        assert os.getpgid(lab) == os.getpgid(hub.pid) == hub.pid
        time.sleep(0.5)
        assert _alive(lab), "the lab must live as long as the hub"

        hub.kill()  # SIGKILL: the hub stops nothing itself
        hub.wait()
        deadline = time.monotonic() + 10
        while _alive(lab) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(lab), "the lab outlived the hub"
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()
        if lab and _alive(lab):
            os.kill(lab, signal.SIGKILL)


def test_the_culler_runs_with_the_hubs_api_and_its_token() -> None:
    token = "t" * 43
    settings = load_settings(
        hub_bind_url="http://127.0.0.1:8041", culler_api_token=token, idle_timeout=600
    )
    assert settings.culler_service("python") == {
        "name": "idle-culler",
        "api_token": token,
    }
    command, env = culler_exec(settings)
    assert command == settings.culler_command(sys.executable)
    assert env["JUPYTERHUB_API_URL"] == "http://127.0.0.1:8041/nb/hub/api"
    assert env["JUPYTERHUB_API_TOKEN"] == token
    assert env["JUPYTERHUB_SERVICE_NAME"] == "idle-culler"
    assert "RSP_NOTEBOOKS_CULLER_API_TOKEN" not in env
    # Never shown: not in the settings' repr, nor in the hub's logs of them.
    assert token not in repr(settings)


def test_without_a_token_the_hub_runs_the_culler() -> None:
    settings = load_settings()
    service = settings.culler_service("/venv/bin/python")
    assert service == {
        "name": "idle-culler",
        "command": settings.culler_command("/venv/bin/python"),
    }
    with pytest.raises(SettingsError, match="RSP_NOTEBOOKS_CULLER_API_TOKEN"):
        culler_exec(settings)


def test_a_short_culler_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="culler_api_token"):
        load_settings(culler_api_token="short")


def test_the_hubs_api_as_a_process_beside_it_reaches_it() -> None:
    assert (
        load_settings(hub_bind_url="http://0.0.0.0:8081").hub_api_url
        == "http://127.0.0.1:8081/nb/hub/api"
    )
    assert (
        load_settings(
            hub_bind_url="http://0.0.0.0:8081", hub_connect_url="http://hub:8081"
        ).hub_api_url
        == "http://hub:8081/nb/hub/api"
    )


def test_the_culler_waits_for_the_hub(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = int(line.split(" port ")[1].split()[0])
        started = time.monotonic()
        wait_for_hub(f"http://127.0.0.1:{port}/nb/hub/api")  # 404 is an answer
        assert time.monotonic() - started < 5
    finally:
        server.terminate()
        server.wait()
