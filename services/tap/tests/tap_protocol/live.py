"""The TAP service as it runs: uvicorn on a free loopback port, real catalogs.

``live_tap`` (session) starts ``uvicorn rsp_tap.main:create_app --factory``
in a subprocess on the session's loaded catalog (``catalog_database``, as
the read-only role) and a job store of its own. ``default_user`` is set
(``taplint``) because stilts taplint cannot send a user; clients that can
send ``X-Auth-Request-User`` (as the ingress does) are that user instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from rsp_tap.storage.database import create_database_engine, migrate_job_store
from tap_catalog_db import CatalogDatabase

__all__ = ["LiveTap", "live_tap"]

DEFAULT_USER = "taplint"


@dataclass(frozen=True)
class LiveTap:
    """A running TAP service."""

    url: str
    """The service URL, ``http://127.0.0.1:<port>/api/tap``."""

    catalog: CatalogDatabase
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _migrate(url: str) -> None:
    engine = create_database_engine(url)
    try:
        await migrate_job_store(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def live_tap(
    catalog_database: CatalogDatabase,
    make_job_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveTap]:
    """The service running in uvicorn on the test catalog."""
    job_database = make_job_database()
    asyncio.run(_migrate(job_database))
    directory = tmp_path_factory.mktemp("live-tap")
    port = _free_port()
    config = {
        "environment": "local",
        "base_url": f"http://127.0.0.1:{port}",
        "database_url": job_database,
        "query_database_url": catalog_database.reader_dsn,
        "result_storage": {"type": "local", "path": str(directory / "results")},
        "default_user": DEFAULT_USER,
        "maxrec_default": 1000,
        "maxrec_limit": 50_000,
        "upload_max_bytes": 1_000_000,
        "wait_max": 3,
        "log_json": True,
        "log_level": "WARNING",
    }
    config_file = directory / "tap.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSP_TAP_")} | {
        "RSP_TAP_CONFIG_PATH": str(config_file)
    }
    log = directory / "server.log"
    uvicorn = Path(sys.executable).parent / "uvicorn"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                str(uvicorn),
                "rsp_tap.main:create_app",
                "--factory",
                "--host=127.0.0.1",
                f"--port={port}",
                "--no-access-log",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"TAP did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield LiveTap(
            url=f"http://127.0.0.1:{port}/api/tap", catalog=catalog_database, log=log
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
