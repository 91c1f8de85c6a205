"""``make dev``'s TAP service: the DP0.1 catalogs on the local PostgreSQL.

TAP needs pgsphere, so it runs on PostgreSQL (``RSP_DEV_POSTGRES_URL``,
default the local server as ``postgres``; ``scripts/bootstrap.sh`` installs
both). At the first start the catalog database is created, set up with
``rsp-tap init-db`` and loaded with ``rsp-tap load --scale 20000``; later
starts find it loaded (a marker in the state directory, naming the catalog
layout: an older layout is loaded again) and only bring the job store up to
date with ``rsp-tap migrate``. The database is named after
the state directory, so two checkouts never share one.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:
    from .dev import DevEnvironment

__all__ = [
    "CATALOG_LAYOUT",
    "DEV_TAP_SCALE",
    "POSTGRES_URL_ENV",
    "TAP_SERVICE",
    "TapSetupError",
    "drop_tap_database",
    "prepare_tap",
    "tap_config",
    "tap_database_name",
    "tap_environment",
    "tap_procfile_lines",
]

TAP_SERVICE = "tap"
"""Service of the route table the TAP server serves."""

DEV_TAP_SCALE = 20_000
"""Objects loaded into the local catalog."""

POSTGRES_URL_ENV = "RSP_DEV_POSTGRES_URL"
"""Environment variable naming the PostgreSQL server (a superuser's URL)."""

_DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
_READER_ROLE = "rsp_dev_tap_reader"
_LOADED_MARKER = "tap-loaded"

CATALOG_LAYOUT = 2
"""Version of what ``rsp-tap load`` builds; a catalog of an older one is reloaded.

2: with the narrow projection of ``object`` (``dp01_dc2_catalogs_narrow``).
"""


class TapSetupError(RuntimeError):
    """The local catalog cannot be set up; the message says what to do."""


def tap_database_name(env: DevEnvironment) -> str:
    """The catalog (and job store) database of this state directory."""
    digest = hashlib.sha256(str(env.state_dir.resolve()).encode()).hexdigest()
    return f"rsp_dev_tap_{digest[:10]}"


def _server_url(environ: Mapping[str, str]) -> str:
    return environ.get(POSTGRES_URL_ENV) or _DEFAULT_POSTGRES


def _database_url(server: str, database: str, *, user: str | None = None) -> str:
    parts = urlsplit(server)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def tap_config(env: DevEnvironment, environ: Mapping[str, str]) -> dict[str, object]:
    """The TAP service's configuration for local development."""
    server = _server_url(environ)
    database = tap_database_name(env)
    jobs = _database_url(server, database).replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )
    return {
        "environment": "local",
        "base_url": env.base_url,
        "database_url": jobs,
        "query_database_url": _database_url(server, database, user=_READER_ROLE),
        "result_storage": {
            "type": "local",
            "path": str((env.state_dir / "tap-results").resolve()),
        },
        "log_json": False,
    }


def tap_environment(env: DevEnvironment) -> dict[str, str]:
    """What the TAP processes need in their environment."""
    return {"RSP_TAP_CONFIG_PATH": str((env.state_dir / "tap.yaml").resolve())}


def _rsp_tap(arguments: list[str], environ: Mapping[str, str], timeout: int) -> None:
    cli = Path(sys.executable).parent / "rsp-tap"
    if not cli.exists():
        raise TapSetupError(f"{cli} not found: run scripts/bootstrap.sh")
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [str(cli), *arguments],
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise TapSetupError(
            f"'rsp-tap {arguments[0]}' failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def _admin(server: str, code: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [sys.executable, "-c", code, server, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def drop_tap_database(
    state_dir: Path, environ: Mapping[str, str] | None = None
) -> None:
    """Drop the catalog database of a state directory (tests of ``make dev``)."""
    from .dev import DevEnvironment  # noqa: PLC0415 (dev imports this module)

    database = tap_database_name(DevEnvironment(state_dir=state_dir))
    code = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1])\n"
        "    try:\n"
        "        await c.execute("
        "f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\" WITH (FORCE)')\n"
        "    finally:\n"
        "        await c.close()\n"
        "asyncio.run(main())\n"
    )
    _admin(_server_url(environ or os.environ), code, database)


def _create_database(server: str, database: str) -> None:
    """Create the database unless it exists."""
    code = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1])\n"
        "    try:\n"
        "        if not await c.fetchval("
        "'SELECT 1 FROM pg_database WHERE datname = $1', sys.argv[2]):\n"
        "            await c.execute(f'CREATE DATABASE \"{sys.argv[2]}\"')\n"
        "    finally:\n"
        "        await c.close()\n"
        "asyncio.run(main())\n"
    )
    result = _admin(server, code, database)
    if result.returncode != 0:
        raise TapSetupError(
            f"cannot create the TAP database {database} on {server}"
            f" (set {POSTGRES_URL_ENV} to a superuser's URL):\n{result.stderr}"
        )


def prepare_tap(
    env: DevEnvironment, environ: Mapping[str, str], *, scale: int = DEV_TAP_SCALE
) -> Path:
    """Set up the local catalog once, migrate the job store, write tap.yaml.

    Returns the configuration file.

    Raises
    ------
    TapSetupError
        If PostgreSQL (with pgsphere) cannot be reached or a step fails.
    """
    server = _server_url(environ)
    database = tap_database_name(env)
    owner = _database_url(server, database)
    marker = env.state_dir / _LOADED_MARKER
    loaded = f"{database} {scale} layout {CATALOG_LAYOUT}"
    if not marker.exists() or marker.read_text().strip() != loaded:
        _create_database(server, database)
        setup_env = {**environ, "RSP_TAP_ADMIN_DATABASE_URL": owner}
        _rsp_tap(["init-db", "--reader-role", _READER_ROLE], setup_env, timeout=300)
        _rsp_tap(["load", "--scale", str(scale), "--quiet"], setup_env, timeout=1800)
        marker.write_text(loaded + "\n")
    path = env.state_dir / "tap.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(yaml.safe_dump(tap_config(env, environ), sort_keys=False))
    _rsp_tap(["migrate"], {**environ, **tap_environment(env)}, timeout=120)
    return path


def tap_procfile_lines(port: int) -> list[str]:
    """The Procfile line of the TAP server on its port."""
    uvicorn = Path(sys.executable).parent / "uvicorn"
    command = [
        str(uvicorn),
        "rsp_tap.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return [f"tap: exec {shlex.join(command)}"]
