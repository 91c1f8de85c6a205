"""``make dev``'s notebooks: JupyterHub with the local lab spawner.

The hub (``rsp-hub``, from ``rsp_notebooks``) runs behind the local ingress
at ``/nb/hub``, with configurable-http-proxy (``node_modules``, from
``npm ci``) as a process of its own on the ``nublado`` service's port, as
in Kubernetes, and the idle culler as another (``python -m
rsp_notebooks.culler``, with a token the hub registers). The hub runs each
user's lab as a local process from the lab environment (``.dev/lab/venv``,
see :mod:`rsp_platform.labenv`), with the home in ``.dev/homes/<user>``; a
lab ends with the hub. Users log in through the gateway's development
identity provider.
"""

from __future__ import annotations

import base64
import secrets
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from .devdata import choose_port
from .labenv import DEFAULT_LAB_VENV, LAB_REQUIREMENTS, build_lab_environment

if TYPE_CHECKING:
    from .dev import DevEnvironment

__all__ = [
    "CONFIGURABLE_HTTP_PROXY",
    "NOTEBOOKS_SERVICE",
    "find_proxy",
    "hub_environment",
    "hub_procfile_lines",
    "hub_settings",
    "prepare_lab_environment",
    "write_hub_settings",
]

NOTEBOOKS_SERVICE = "nublado"
"""Service of the route table the hub's proxy serves."""

CONFIGURABLE_HTTP_PROXY = Path("node_modules/.bin/configurable-http-proxy")
"""The proxy installed by ``npm ci`` (``scripts/bootstrap.sh``)."""

LOCAL_IMAGES: dict[str, object] = {
    "images": [
        {
            "reference": "local/lab:recommended",
            "tag": "recommended",
            "name": "Lab environment of this checkout",
        }
    ],
    "classes": {
        "recommended": "recommended",
        "latest-release": "recommended",
        "latest-weekly": "recommended",
        "latest-daily": "recommended",
    },
}
"""``make dev`` has one lab environment: every image class names it."""


def find_proxy() -> Path:
    """configurable-http-proxy of this checkout (cwd, else the repository root)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[4]):
        candidate = root / CONFIGURABLE_HTTP_PROXY
        if candidate.exists():
            return candidate.resolve()
    return CONFIGURABLE_HTTP_PROXY.resolve()


def prepare_lab_environment() -> None:
    """Build ``.dev/lab/venv`` from the lab lock (fast when it is current).

    Skipped outside a checkout (no ``images/lab/requirements.txt``): labs then
    run from the hub's own environment.

    Raises
    ------
    LabEnvironmentError
        If the build fails.
    """
    if LAB_REQUIREMENTS.is_file():
        if not (DEFAULT_LAB_VENV / "bin" / "python").exists():
            print("Building the lab environment (.dev/lab/venv), once", flush=True)
        build_lab_environment()


def _settings_path(env: DevEnvironment) -> Path:
    return (env.state_dir / "notebooks.yaml").resolve()


def hub_settings(
    env: DevEnvironment, hub_port: int, proxy_api_port: int
) -> dict[str, object]:
    """Settings of the hub (``rsp_notebooks.settings``) for the local platform.

    Labs run from ``.dev/lab/venv`` when it exists, else from the hub's own
    environment (which has JupyterLab but not the lab image's clients).
    """
    state = (env.state_dir / "hub").resolve()
    settings: dict[str, object] = {
        "mode": "local",
        "instance_url": env.base_url,
        "gateway_url": f"http://127.0.0.1:{env.gateway_port}",
        "hub_bind_url": f"http://127.0.0.1:{hub_port}",
        "public_url": f"http://127.0.0.1:{env.service_port(NOTEBOOKS_SERVICE)}",
        "proxy_api_url": f"http://127.0.0.1:{proxy_api_port}",
        # The proxy is a Procfile process of its own (hub_procfile_lines).
        "proxy_command": [],
        "db_url": f"sqlite:///{state / 'jupyterhub.sqlite'}",
        "state_dir": str(state),
        "images": LOCAL_IMAGES,
        "discovery_url": (
            f"http://127.0.0.1:{env.service_port('repertoire')}/repertoire/discovery"
        ),
        "homes_dir": str((env.state_dir / "homes").resolve()),
        # Labs are child processes here: they end with the hub (Ctrl-C).
        "cleanup_servers": True,
    }
    if (DEFAULT_LAB_VENV / "bin" / "python").exists():
        settings["lab_venv"] = str(DEFAULT_LAB_VENV.resolve())
    return settings


def write_hub_settings(env: DevEnvironment) -> Path:
    """Write the hub's settings (internal ports chosen now); their path."""
    (env.state_dir / "hub").mkdir(parents=True, exist_ok=True)
    settings = hub_settings(env, choose_port(8041), choose_port(8042))
    path = _settings_path(env)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def _kept_key(path: Path, make: str) -> str:
    """A secret kept in ``path`` (mode 0600), made once as ``make``."""
    if not path.exists():
        path.write_text(make + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def hub_environment(env: DevEnvironment) -> dict[str, str]:
    """Variables of the hub, its proxy and its culler: settings, kept keys.

    ``CONFIGPROXY_AUTH_TOKEN`` is what the hub presents to the proxy's API,
    and what the proxy expects. ``RSP_NOTEBOOKS_CULLER_API_TOKEN`` (the
    settings' ``culler_api_token``) is the token the hub accepts from the
    culler, and what the culler presents.
    """
    return {
        "RSP_NOTEBOOKS_CONFIG_PATH": str(_settings_path(env)),
        "JUPYTERHUB_CRYPT_KEY": _kept_key(
            env.state_dir / "hub-crypt-key",
            base64.b64encode(secrets.token_bytes(32)).decode(),
        ),
        "CONFIGPROXY_AUTH_TOKEN": _kept_key(
            env.state_dir / "proxy-auth-token", secrets.token_urlsafe(32)
        ),
        "RSP_NOTEBOOKS_CULLER_API_TOKEN": _kept_key(
            env.state_dir / "culler-api-token", secrets.token_urlsafe(32)
        ),
    }


def hub_procfile_lines(env: DevEnvironment) -> list[str]:
    """The Procfile lines of the hub, its proxy and its idle culler.

    The proxy and the culler run apart from the hub: honcho then stops them
    like every other process. A child the hub starts lives in a session of
    its own, so it outlived a hub killed while starting and kept honcho
    waiting on the output they share. (In Kubernetes the proxy is a
    Deployment of its own, the culler the hub's child in the hub's
    container, which ends them together.)
    """
    path = _settings_path(env)
    settings: dict[str, Any] = (
        yaml.safe_load(path.read_text())
        if path.exists()
        else hub_settings(env, hub_port=8041, proxy_api_port=8042)
    )
    public = urlsplit(str(settings["public_url"]))
    api = urlsplit(str(settings["proxy_api_url"]))
    hub_url = str(settings["hub_bind_url"]).rstrip("/")
    proxy = [
        str(find_proxy()),
        "--ip",
        str(public.hostname),
        "--port",
        str(public.port),
        "--api-ip",
        str(api.hostname),
        "--api-port",
        str(api.port),
        "--error-target",
        f"{hub_url}/nb/hub/error",
        "--log-level",
        "warn",
    ]
    hub = Path(sys.executable).parent / "rsp-hub"
    culler = [sys.executable, "-m", "rsp_notebooks.culler"]
    return [
        f"hub: exec {shlex.join([str(hub)])}",
        f"hub-proxy: exec {shlex.join(proxy)}",
        f"hub-culler: exec {shlex.join(culler)}",
    ]
