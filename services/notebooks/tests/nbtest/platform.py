"""A local platform for the notebooks tests: gateway, nginx, hub and proxy.

Started as ``make dev`` runs them (the gateway with its SQLite database and
development login, nginx rendered from the route table with the ``/nb``
routes, the hub with the local spawner, configurable-http-proxy started by
the hub), on free loopback ports in a temporary directory, and stopped at
the end (labs first, then the hub, nginx and the gateway).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from rsp_platform.dev import DevEnvironment, gateway_config, generate_token, migrate
from rsp_platform.nginx import (
    NginxSettings,
    default_worker_user,
    nginx_command,
    write_nginx_config,
)

__all__ = [
    "CHP",
    "LocalPlatform",
    "dev_login",
    "free_port",
    "local_platform",
]

REPO = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"

LOCAL_IMAGES: dict[str, Any] = {
    "images": [
        {"reference": "local/lab:recommended", "tag": "recommended"},
        {"reference": "local/lab:weekly", "tag": "weekly"},
    ],
    "classes": {
        "recommended": "recommended",
        "latest-release": "recommended",
        "latest-weekly": "weekly",
        "latest-daily": "weekly",
    },
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalPlatform:
    """The running platform and how to reach its parts."""

    workdir: Path
    port: int
    gateway_port: int
    proxy_port: int
    hub_port: int
    bootstrap_token: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The platform's base URL (through nginx)."""
        return f"http://localhost:{self.port}"

    @property
    def hub_url(self) -> str:
        """The hub's base URL through the ingress."""
        return f"{self.url}/nb/hub"

    def log(self, name: str) -> str:
        """What a process wrote so far."""
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def create_token(
        self,
        username: str,
        scopes: list[str],
        *,
        uid: int = 42001,
        groups: tuple[tuple[str, int], ...] = (("g_users", 52001),),
    ) -> str:
        """A user token made with the bootstrap token (as an admin would)."""
        response = httpx.post(
            f"http://127.0.0.1:{self.gateway_port}/auth/api/v1/tokens",
            headers={"Authorization": f"Bearer {self.bootstrap_token}"},
            json={
                "username": username,
                "token_type": "user",
                "token_name": f"test {secrets.token_hex(4)}",
                "scopes": scopes,
                "uid": uid,
                "gid": uid,
                "groups": [{"name": n, "id": i} for n, i in groups],
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


def dev_login(
    client: httpx.Client, username: str, groups: str = "g_users"
) -> httpx.Response:
    """Log ``client`` in with the development identity provider."""
    form = client.get("/login", params={"rd": "/nb/hub/home"})
    match = re.search(r'name="state" value="([^"]+)"', form.text)
    assert match, form.text
    return client.post(
        "/login",
        data={"state": match.group(1), "username": username, "groups": groups},
    )


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            status = 0
        if 0 < status < 500:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url}")


def _start(
    platform: LocalPlatform, name: str, command: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with (platform.workdir / f"{name}.log").open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=platform.workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    platform.processes[name] = process
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def hub_settings(
    platform: LocalPlatform, discovery: Path, lab_venv: Path | None = None
) -> dict[str, Any]:
    """The hub's settings file for this platform (local mode)."""
    settings: dict[str, Any] = {
        "mode": "local",
        "instance_url": platform.url,
        "gateway_url": f"http://127.0.0.1:{platform.gateway_port}",
        "hub_bind_url": f"http://127.0.0.1:{platform.hub_port}",
        "public_url": f"http://127.0.0.1:{platform.proxy_port}",
        "proxy_api_url": f"http://127.0.0.1:{free_port()}",
        "proxy_command": [str(CHP)],
        "db_url": f"sqlite:///{platform.workdir / 'jupyterhub.sqlite'}",
        "state_dir": str(platform.workdir),
        "images": LOCAL_IMAGES,
        "discovery_url": f"file://{discovery}",
        "homes_dir": str(platform.workdir / "homes"),
        "cleanup_servers": True,
    }
    if lab_venv is not None:
        settings["lab_venv"] = str(lab_venv)
    return settings


@contextmanager
def local_platform(
    workdir: Path, lab_venv: Path | None = None
) -> Iterator[LocalPlatform]:
    """Start gateway, nginx and hub on free ports; stop everything at the end."""
    platform = LocalPlatform(
        workdir=workdir,
        port=free_port(),
        gateway_port=free_port(),
        proxy_port=free_port(),
        hub_port=free_port(),
        bootstrap_token=generate_token(),
    )
    env = DevEnvironment(
        state_dir=workdir, port=platform.port, gateway_port=platform.gateway_port
    )
    (workdir / "gateway.yaml").write_text(yaml.safe_dump(gateway_config(env)))
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RSP_", "JUPYTERHUB_"))
    }
    gateway_env = {
        **base_env,
        "RSP_GATEWAY_CONFIG_PATH": str(workdir / "gateway.yaml"),
        "RSP_GATEWAY_BOOTSTRAP_TOKEN": platform.bootstrap_token,
    }
    migrate(gateway_env)
    discovery = workdir / "discovery.json"
    discovery.write_text(
        json.dumps({"ui": {"nublado": {"url": f"{platform.url}/nb/"}}})
    )
    (workdir / "notebooks.yaml").write_text(
        yaml.safe_dump(hub_settings(platform, discovery, lab_venv))
    )
    hub_env = {
        **base_env,
        "RSP_NOTEBOOKS_CONFIG_PATH": str(workdir / "notebooks.yaml"),
        "JUPYTERHUB_CRYPT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    nginx = NginxSettings(
        prefix=workdir / "nginx",
        port=platform.port,
        enabled={"gateway", "nublado"},
        upstreams={
            "gateway": f"127.0.0.1:{platform.gateway_port}",
            "nublado": f"127.0.0.1:{platform.proxy_port}",
        },
        worker_user=default_worker_user(),
    )
    write_nginx_config(nginx)
    try:
        gateway = _start(
            platform,
            "gateway",
            [
                str(BIN / "uvicorn"),
                "rsp_gateway.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(platform.gateway_port),
            ],
            gateway_env,
        )
        ingress = _start(platform, "nginx", nginx_command(nginx), base_env)
        hub = _start(platform, "hub", [str(BIN / "rsp-hub")], hub_env)
        _wait_http(
            f"http://127.0.0.1:{platform.gateway_port}/login", gateway, "gateway"
        )
        _wait_http(f"http://127.0.0.1:{platform.port}/login", ingress, "nginx")
        _wait_http(f"http://127.0.0.1:{platform.hub_port}/nb/hub/api", hub, "hub")
        yield platform
    except Exception:
        for name in ("hub", "gateway", "nginx"):
            sys.stderr.write(f"--- {name} log ---\n{platform.log(name)[-6000:]}\n")
        raise
    finally:
        for name in ("hub", "nginx", "gateway"):
            if name in platform.processes:
                _stop(platform.processes[name])
