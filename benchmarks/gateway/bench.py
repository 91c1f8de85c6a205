"""Benchmark of the gateway's auth subrequest, end to end over HTTP.

The gateway runs the way production runs it (uvicorn with several worker
processes, uvloop and httptools, PostgreSQL and Redis), and `wrk` in a separate
process drives ``/ingress/auth`` with:

- a valid bearer token,
- a valid bearer token with delegation (an internal child token per call),
- a revoked token (every answer must be 401).

Besides wrk's throughput and latency, each scenario reports the CPU time the
gateway's workers spent per request (from ``/proc``): on a machine shared
with other work, throughput swings with the load while CPU per request
stays comparable between runs, so it is the figure to compare code with.

Then it measures how long a revocation takes to be seen by every worker: the
token is revoked through the REST API while eight keep-alive connections (spread
over the workers) keep asking; the time from the revocation's answer to the
last 200 seen is the propagation delay.

Run with ``make bench`` or ``benchmarks/gateway/run [--duration 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from rsp_gateway.models.token import Token

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class LoadResult:
    """What wrk measured for one scenario."""

    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    total: int
    cpu_us: float | None = None
    """CPU time of the gateway's workers per request (microseconds)."""


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def psql(sql: str) -> None:
    """Run one statement as the PostgreSQL superuser."""
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    name = f"gw_bench_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Gateway:
    """A running gateway."""

    base: str
    bootstrap: str
    pid: int
    """The uvicorn supervisor; its children are the workers."""


def worker_pids(supervisor: int) -> list[int]:
    """The processes uvicorn started (its workers); empty without ``/proc``."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{supervisor}/task"):
            children = Path(f"/proc/{supervisor}/task/{task}/children").read_text()
            pids += [int(c) for c in children.split()]
    return pids


def cpu_seconds(pids: list[int]) -> float | None:
    """User plus system CPU time of these processes so far; `None` if unknown."""
    ticks = 0
    try:
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])
    except (OSError, IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK") if pids else None


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the kernel gives them."""
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


@contextlib.contextmanager
def gateway(database_url: str, workers: int) -> Iterator[Gateway]:
    """Migrate the database and serve the gateway."""
    port = free_port()
    bootstrap = str(Token.generate())
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        config = {
            "environment": "bench",
            "base_url": f"http://127.0.0.1:{port}",
            "database_url": database_url,
            "redis_url": REDIS_URL,
            "session_secret": secrets.token_urlsafe(32),
            "token_hash_key": secrets.token_urlsafe(32),
            "bootstrap_token": bootstrap,
            "github": {"client_id": "bench", "client_secret": "bench"},
            "log_level": "WARNING",
        }
        config_path = Path(tmp) / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "RSP_GATEWAY_CONFIG_PATH": str(config_path)}
        subprocess.run(
            [BIN / "rsp-gateway", "migrate"], env=env, check=True, capture_output=True
        )
        command = [
            str(BIN / "uvicorn"),
            "rsp_gateway.main:create_app",
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
        ]
        process = subprocess.Popen(command, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            yield Gateway(base, bootstrap, process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    """Wait for the gateway to answer its health route.

    Two workers importing the gateway take about 30 s when other work keeps
    the machine's cores busy, hence the generous limit.
    """
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the gateway exited with status {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("the gateway did not start within 120 s")


def create_token(base: str, bootstrap: str, username: str, scopes: list[str]) -> str:
    """Create a service token through the admin API."""
    response = httpx.post(
        f"{base}/auth/api/v1/tokens",
        headers={"Authorization": f"Bearer {bootstrap}"},
        json={"username": username, "token_type": "service", "scopes": scopes},
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def revoke_token(
    client: httpx.Client, base: str, bootstrap: str, username: str, token: str
) -> None:
    """Revoke a token through the REST API."""
    key = token.removeprefix("gt-").split(".", 1)[0]
    response = client.delete(
        f"{base}/auth/api/v1/users/{username}/tokens/{key}",
        headers={"Authorization": f"Bearer {bootstrap}"},
    )
    response.raise_for_status()


_LATENCY_RE = re.compile(
    r"^\s*(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE
)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    name: str,
    url: str,
    token: str,
    duration: int,
    connections: int,
    workers: list[int] | None = None,
) -> LoadResult:
    """Drive one URL with wrk and parse its report (and ``workers``' CPU time)."""
    cpu_before = cpu_seconds(workers or [])
    output = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    latencies = {
        m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)]
        for m in _LATENCY_RE.finditer(output)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if not (rps and total and "50" in latencies and "99" in latencies):
        sys.exit(f"could not read wrk's report:\n{output}")
    cpu_after = cpu_seconds(workers or [])
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and int(total.group(1)):
        cpu_us = (cpu_after - cpu_before) * 1e6 / int(total.group(1))
    return LoadResult(
        name=name,
        requests_per_second=float(rps.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        total=int(total.group(1)),
        cpu_us=cpu_us,
    )


async def _poll(
    client: httpx.AsyncClient, url: str, stop: asyncio.Event, last_ok: list[float]
) -> None:
    """Ask until told to stop, noting when a 200 was last seen."""
    while not stop.is_set():
        response = await client.get(url)
        if response.status_code == 200:
            last_ok[0] = time.monotonic()


async def revocation_delay(base: str, bootstrap: str, trials: int) -> list[float]:
    """Milliseconds from a revocation's answer to the last 200 any worker gives."""
    delays = []
    url = f"{base}/ingress/auth?scope=read:tap"
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    with httpx.Client() as admin:
        for _ in range(trials):
            token = await asyncio.to_thread(
                create_token, base, bootstrap, "bot-bench-revoke", ["read:tap"]
            )
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(limits=limits, headers=headers) as client:
                # Warm every worker's cache through eight connections.
                warm = await asyncio.gather(*(client.get(url) for _ in range(64)))
                if any(r.status_code != 200 for r in warm):
                    sys.exit("a valid token was refused while warming up")
                stop = asyncio.Event()
                last_ok: list[float] = [0.0]
                pollers = [
                    asyncio.create_task(_poll(client, url, stop, last_ok))
                    for _ in range(8)
                ]
                await asyncio.sleep(0.05)
                await asyncio.to_thread(
                    revoke_token, admin, base, bootstrap, "bot-bench-revoke", token
                )
                revoked_at = time.monotonic()
                await asyncio.sleep(0.5)
                stop.set()
                await asyncio.gather(*pollers)
                delays.append(max(0.0, (last_ok[0] - revoked_at) * 1000))
                final = await client.get(url)
                if final.status_code != 401:
                    sys.exit(f"a revoked token still answers {final.status_code}")
    return delays


def main() -> None:
    """Run every scenario and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="uvicorn workers"
    )
    parser.add_argument("--trials", type=int, default=20, help="revocation trials")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run scripts/bootstrap.sh (Debian package wrk)")

    load_before = load_average()
    with (
        database() as database_url,
        gateway(database_url, args.workers) as served,
    ):
        base, bootstrap = served.base, served.bootstrap
        workers = worker_pids(served.pid)
        valid = create_token(base, bootstrap, "bot-bench", ["read:tap", "read:image"])
        revoked = create_token(base, bootstrap, "bot-bench", ["read:tap"])
        with httpx.Client() as client:
            revoke_token(client, base, bootstrap, "bot-bench", revoked)
        scenarios = [
            ("valid bearer", f"{base}/ingress/auth?scope=read:tap", valid),
            (
                "delegated",
                f"{base}/ingress/auth?scope=read:tap&delegate_to=tap&delegate_scope=read:tap",
                valid,
            ),
            ("revoked", f"{base}/ingress/auth?scope=read:tap", revoked),
        ]
        results = []
        for name, url, token in scenarios:
            run_wrk(name, url, token, 2, args.connections)  # warm-up, not reported
            results.append(
                run_wrk(name, url, token, args.duration, args.connections, workers)
            )
        delays = asyncio.run(revocation_delay(base, bootstrap, args.trials))

    print(
        f"\nGateway /ingress/auth: {args.workers} uvicorn workers,"
        f" wrk -t1 -c{args.connections} -d{args.duration}s;"
        f" load average {load_before} before, {load_average()} after"
    )
    print(
        f"{'scenario':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>9}"
        f" {'CPU us/req':>11}"
    )
    for r in results:
        cpu = f"{r.cpu_us:>11.0f}" if r.cpu_us is not None else f"{'-':>11}"
        print(
            f"{r.name:<14} {r.requests_per_second:>9.0f} {r.p50_ms:>8.2f}"
            f" {r.p99_ms:>8.2f} {r.non_2xx:>9} {cpu}"
        )
    print(
        f"revocation seen by every worker: p50 {statistics.median(delays):.1f} ms, "
        f"max {max(delays):.1f} ms over {len(delays)} trials"
    )
    failures = []
    valid_result = results[0]
    if valid_result.non_2xx:
        failures.append("valid token refused under load")
    if results[2].non_2xx != results[2].total:
        failures.append("revoked token accepted under load")
    if failures:
        sys.exit("; ".join(failures))


if __name__ == "__main__":
    main()
