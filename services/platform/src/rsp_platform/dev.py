"""``make dev``: the platform on one machine, behind the real local ingress.

Everything the local platform keeps lives in one state directory (``.dev``):
secrets generated once and kept, the bootstrap token (unless
``RSP_BOOTSTRAP_TOKEN`` gives it), the gateway's configuration and SQLite
database, the nginx prefix and the Procfile that honcho runs. Ctrl-C (or
SIGTERM) makes honcho stop every process it started.
"""

from __future__ import annotations

import base64
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from .devdata import (
    DATA_SERVICES,
    butler_environment,
    choose_port,
    data_procfile_lines,
    make_sample_repository,
    write_data_config,
)
from .devhub import (
    NOTEBOOKS_SERVICE,
    hub_environment,
    hub_procfile_lines,
    prepare_lab_environment,
    write_hub_settings,
)
from .devtap import (
    TAP_SERVICE,
    TapSetupError,
    prepare_tap,
    tap_environment,
    tap_procfile_lines,
)
from .labenv import LabEnvironmentError
from .nginx import (
    NginxSettings,
    check_nginx_config,
    default_worker_user,
    nginx_command,
    write_nginx_config,
)
from .routes import ENABLED_SERVICES, ROUTE_TABLE

__all__ = [
    "BOOTSTRAP_TOKEN_ENV",
    "DEV_GROUP_SCOPES",
    "DevEnvironment",
    "DevError",
    "generate_token",
    "prepare",
    "run",
]

BOOTSTRAP_TOKEN_ENV = "RSP_BOOTSTRAP_TOKEN"  # noqa: S105 (a variable name)
"""Environment variable that, when set, is the admin bootstrap token."""

DEV_GROUP_SCOPES: Mapping[str, tuple[str, ...]] = {
    "g_users": ("exec:notebook", "exec:portal", "read:tap", "read:image", "user:token"),
    "g_admins": (
        "exec:notebook",
        "exec:portal",
        "read:tap",
        "read:image",
        "user:token",
        "admin:token",
        "admin:userinfo",
        "admin:jupyterlab",
        "exec:admin",
    ),
}
"""Scopes each group gets in local development (log in with these groups)."""


_STOPPED_BY_SIGNAL = (128 + signal.SIGINT, 128 + signal.SIGTERM)


class DevError(RuntimeError):
    """The local platform cannot start; the message says what to do."""


@dataclass(frozen=True)
class DevEnvironment:
    """Where the local platform keeps its state and which ports it uses."""

    state_dir: Path
    port: int = 8000
    gateway_port: int = 8001
    service_ports: Mapping[str, int] = field(default_factory=dict)
    """Ports of other services behind nginx (default: the route table's)."""

    def service_port(self, service: str) -> int:
        """Port a service listens on (the route table's unless chosen)."""
        local = ROUTE_TABLE.service(service).upstream.local_port
        return self.service_ports.get(service, local)

    @property
    def base_url(self) -> str:
        """The URL a browser opens."""
        return f"http://localhost:{self.port}"

    @property
    def gateway_config(self) -> Path:
        """The gateway's YAML configuration."""
        return self.state_dir / "gateway.yaml"

    @property
    def bootstrap_token_file(self) -> Path:
        """Where a generated bootstrap token is kept."""
        return self.state_dir / "bootstrap-token"

    @property
    def procfile(self) -> Path:
        """The Procfile honcho runs."""
        return self.state_dir / "Procfile"

    def nginx_settings(self) -> NginxSettings:
        """The local ingress in front of the gateway."""
        hosts = ("127.0.0.1", "[::1]") if _ipv6_loopback() else ("127.0.0.1",)
        return NginxSettings(
            prefix=self.state_dir / "nginx",
            port=self.port,
            listen_hosts=hosts,
            upstreams={
                "gateway": f"127.0.0.1:{self.gateway_port}",
                **{s: f"127.0.0.1:{self.service_port(s)}" for s in DATA_SERVICES},
                NOTEBOOKS_SERVICE: f"127.0.0.1:{self.service_port(NOTEBOOKS_SERVICE)}",
                TAP_SERVICE: f"127.0.0.1:{self.service_port(TAP_SERVICE)}",
            },
            worker_user=default_worker_user(),
        )


def generate_token() -> str:
    """A new token in the gateway's format, ``gt-<key>.<secret>``."""

    def part() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")

    return f"gt-{part()}.{part()}"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)


def _kept_secret(path: Path, generate: str) -> str:
    """The secret in ``path``, written there from ``generate`` the first time."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    _write_private(path, generate + "\n")
    return generate


def bootstrap_token(env: DevEnvironment, environ: Mapping[str, str]) -> tuple[str, str]:
    """The admin bootstrap token and where it comes from (for the user)."""
    given = environ.get(BOOTSTRAP_TOKEN_ENV, "").strip()
    if given:
        return given, f"${BOOTSTRAP_TOKEN_ENV}"
    token = _kept_secret(env.bootstrap_token_file, generate_token())
    return token, str(env.bootstrap_token_file)


def gateway_config(env: DevEnvironment) -> dict[str, object]:
    """The gateway's configuration for local development (secrets kept)."""
    session_secret = _kept_secret(
        env.state_dir / "session-secret",
        base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    token_hash_key = _kept_secret(
        env.state_dir / "token-hash-key", secrets.token_urlsafe(32)
    )
    mapping: dict[str, list[str]] = {}
    for group, scopes in DEV_GROUP_SCOPES.items():
        for scope in scopes:
            mapping.setdefault(scope, []).append(group)
    database = (env.state_dir / "gateway.sqlite3").resolve()
    return {
        "environment": "local",
        "base_url": env.base_url,
        "dev_login": True,
        "database_url": f"sqlite+aiosqlite:///{database}",
        "session_secret": session_secret,
        "token_hash_key": token_hash_key,
        "log_json": False,
        "group_mapping": mapping,
    }


def process_environment(
    env: DevEnvironment, token: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """Environment of the processes: the gateway finds its config and token."""
    return {
        **environ,
        "RSP_GATEWAY_CONFIG_PATH": str(env.gateway_config.resolve()),
        "RSP_GATEWAY_BOOTSTRAP_TOKEN": token,
        "PYTHONUNBUFFERED": "1",
        "RSP_DISCOVERY_CONFIG_PATH": str((env.state_dir / "discovery.yaml").resolve()),
        **butler_environment(
            env,
            _kept_secret(
                env.state_dir / "butler-signing-key", secrets.token_urlsafe(32)
            ),
            groups=list(DEV_GROUP_SCOPES),
        ),
        **hub_environment(env),
        **tap_environment(env),
    }


def procfile_text(env: DevEnvironment) -> str:
    """The Procfile: the gateway and nginx, both in the foreground."""
    uvicorn = Path(sys.executable).parent / "uvicorn"
    gateway = [
        str(uvicorn),
        "rsp_gateway.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(env.gateway_port),
    ]
    ingress = nginx_command(env.nginx_settings())
    lines = [
        f"gateway: exec {shlex.join(gateway)}",
        f"ingress: exec {shlex.join(ingress)}",
    ]
    lines += data_procfile_lines({s: env.service_port(s) for s in DATA_SERVICES})
    lines += hub_procfile_lines(env)
    lines += tap_procfile_lines(env.service_port(TAP_SERVICE))
    return "\n".join(lines) + "\n"


def migrate(environ: Mapping[str, str]) -> None:
    """Bring the gateway's database schema up to date (``rsp-gateway migrate``).

    Raises
    ------
    DevError
        If the gateway's CLI is missing or the migration fails.
    """
    cli = Path(sys.executable).parent / "rsp-gateway"
    if not cli.exists():
        raise DevError(f"{cli} not found: run scripts/bootstrap.sh")
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [str(cli), "migrate"],
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise DevError(
            f"'rsp-gateway migrate' failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def _check_port_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DevError(
                f"port {port} ({what}) is in use; choose another with "
                "make dev PORT=... (or RSP_DEV_PORT)"
            ) from None


def prepare(
    env: DevEnvironment, environ: Mapping[str, str]
) -> tuple[dict[str, str], str]:
    """Write every file of the local platform and migrate its database.

    Returns the environment for the processes and where the bootstrap token
    comes from.
    """
    env.state_dir.mkdir(parents=True, exist_ok=True)
    token, token_source = bootstrap_token(env, environ)
    _write_private(
        env.gateway_config, yaml.safe_dump(gateway_config(env), sort_keys=False)
    )
    process_env = process_environment(env, token, environ)
    migrate(process_env)
    write_data_config(env, sorted(ENABLED_SERVICES))
    try:
        make_sample_repository(env, process_env)
    except RuntimeError as e:
        raise DevError(str(e)) from None
    try:
        prepare_lab_environment()
    except LabEnvironmentError as e:
        raise DevError(str(e)) from None
    write_hub_settings(env)
    try:
        prepare_tap(env, process_env)
    except TapSetupError as e:
        raise DevError(str(e)) from None
    write_nginx_config(env.nginx_settings())
    check_nginx_config(env.nginx_settings())
    env.procfile.write_text(procfile_text(env))
    return process_env, token_source


def _announce_when_ready(env: DevEnvironment, token_source: str) -> None:
    """Print the URL once ``/login`` answers through the ingress."""
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{env.port}/login"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except urllib.error.HTTPError as e:
            if e.code < 500:  # the gateway answered (502: not up yet)
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        return
    print(
        f"\n  The platform runs at {env.base_url}\n"
        f"  Log in (development provider): {env.base_url}/login\n"
        f"  Bootstrap token (admin:token): {token_source}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )


def run(env: DevEnvironment, environ: Mapping[str, str] | None = None) -> int:
    """Prepare and run the local platform until interrupted; the exit status.

    Raises
    ------
    DevError
        If a port is taken or preparing the platform fails.
    """
    environ = dict(os.environ if environ is None else environ)
    _check_port_free(env.port, "ingress")
    _check_port_free(env.gateway_port, "gateway")
    # Data services take their usual ports when free, else any free port:
    # only nginx needs to know them.
    env = replace(
        env,
        service_ports={
            s: choose_port(env.service_port(s))
            for s in (*DATA_SERVICES, NOTEBOOKS_SERVICE, TAP_SERVICE)
        },
    )
    process_env, token_source = prepare(env, environ)
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    for name, entry in parse_procfile(env.procfile.read_text()).processes.items():
        manager.add_process(name, entry, env=process_env, cwd=str(Path.cwd()))
    threading.Thread(
        target=_announce_when_ready, args=(env, token_source), daemon=True
    ).start()
    manager.loop()
    code = int(manager.returncode or 0)
    # Stopped by Ctrl-C or SIGTERM: every process ended as asked.
    return 0 if code in _STOPPED_BY_SIGNAL else code
