"""``make dev``'s data services: service discovery and the Butler server.

Both run behind the local ingress like the gateway: discovery
(``rsp_discovery``) answers ``/repertoire/discovery`` for the local
environment, and the Butler server (``rsp_butler.server``, the server of
``lsst-daf-butler[server]``) serves the sample ``dp01`` repository, made
once under ``.dev/butler/dp01``, with the repository index at
``/api/butler/configs/repositories.yaml``. The server reaches the gateway
directly for group look-ups; files of the local datastore are handed out
as signed URLs under ``/api/butler/files``.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .repositories import REPOSITORY_INDEX_PATH, butler_base_url, repository_index

if TYPE_CHECKING:
    from .dev import DevEnvironment

__all__ = [
    "DATA_SERVICES",
    "DEV_REPOSITORY",
    "butler_environment",
    "choose_port",
    "data_procfile_lines",
    "discovery_config",
    "make_sample_repository",
    "write_data_config",
]

DATA_SERVICES = ("repertoire", "butler")
"""Services of the route table this module runs."""

DEV_REPOSITORY = "dp01"
"""Label of the sample repository."""

_APPS = {
    "repertoire": "rsp_discovery.main:create_app",
    "butler": "rsp_butler.server:create_app",
}


def choose_port(preferred: int) -> int:
    """``preferred`` if it is free on 127.0.0.1, else a free port the system picks."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            pass
        else:
            return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _butler_dir(env: DevEnvironment) -> Path:
    return (env.state_dir / "butler").resolve()


def discovery_config(env: DevEnvironment, enabled: list[str]) -> dict[str, object]:
    """Configuration of service discovery for the local platform."""
    return {
        "base_url": env.base_url,
        "environment": "local",
        "enabled_services": sorted(enabled),
    }


def butler_environment(
    env: DevEnvironment, signing_key: str, groups: list[str]
) -> dict[str, str]:
    """Settings of the Butler server (its own and ours) for the local platform."""
    butler = _butler_dir(env)
    repositories = {
        DEV_REPOSITORY: {
            "config_uri": str(butler / DEV_REPOSITORY / "butler.yaml"),
            "authorized_groups": sorted(groups),
        }
    }
    return {
        "DAF_BUTLER_SERVER_REPOSITORIES": json.dumps(repositories),
        "DAF_BUTLER_SERVER_GAFAELFAWR_URL": f"http://127.0.0.1:{env.gateway_port}/auth",
        "DAF_BUTLER_SERVER_AUTHENTICATION": "rubin_science_platform",
        "DAF_BUTLER_SERVER_STATIC_FILES_PATH": str(butler / "configs"),
        "RSP_BUTLER_FILES_URL": f"{butler_base_url(env.base_url)}/files",
        "RSP_BUTLER_SIGNING_KEY": signing_key,
    }


def write_data_config(env: DevEnvironment, enabled: list[str]) -> Path:
    """Write discovery's configuration and the repository index; the former's path."""
    path = (env.state_dir / "discovery.yaml").resolve()
    path.write_text(yaml.safe_dump(discovery_config(env, enabled), sort_keys=False))
    index = _butler_dir(env) / REPOSITORY_INDEX_PATH
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(yaml.safe_dump(repository_index(env.base_url, [DEV_REPOSITORY])))
    return path


def make_sample_repository(env: DevEnvironment, environ: Mapping[str, str]) -> Path:
    """Make the sample repository once (``rsp-butler make-repo``); its root.

    Raises
    ------
    RuntimeError
        If the command is missing or fails.
    """
    root = _butler_dir(env) / DEV_REPOSITORY
    if (root / "butler.yaml").exists():
        return root
    cli = Path(sys.executable).parent / "rsp-butler"
    if not cli.exists():
        raise RuntimeError(f"{cli} not found: run scripts/bootstrap.sh")
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [str(cli), "make-repo", str(root)],
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"'rsp-butler make-repo' failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return root


def data_procfile_lines(ports: Mapping[str, int]) -> list[str]:
    """Procfile lines of the data services, each on its port."""
    uvicorn = Path(sys.executable).parent / "uvicorn"
    lines = []
    for service in DATA_SERVICES:
        command = [
            str(uvicorn),
            _APPS[service],
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports[service]),
        ]
        name = "discovery" if service == "repertoire" else service
        lines.append(f"{name}: exec {shlex.join(command)}")
    return lines
