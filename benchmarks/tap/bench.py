"""Benchmark of the TAP service on 10 million objects, end to end over HTTP.

The catalogs (``object``, ``truth_match``, ``position``) are loaded with
``rsp-tap load`` into a database kept between runs (``rsp_tap_bench`` by
default): a run reuses it when its ``object`` table holds exactly the asked
number of rows, and loads it otherwise (an hour or more at 10 million on two
cores). The service runs as the chart runs it: ``uvicorn`` with one worker,
uvloop and httptools, the job store in the same database. Requests go to the
service directly with the ``X-Auth-Request-User`` header the ingress would
set after the gateway's auth subrequest (the gateway's own cost is measured
by ``benchmarks/gateway``). One client sends one request at a time:

- cone search ``CONTAINS(POINT, CIRCLE) = 1`` at r = 0.05° and 0.5°, sync,
  VOTable BINARY2, a new random centre in the footprint each time;
- 20,000 rows (``TOP 20000`` of a 0.6° cone) in VOTable BINARY2 and in Parquet;
- async round trip: submit with ``PHASE=RUN``, ``WAIT`` until the job ends,
  fetch the result (an r = 0.05° cone);
- full-table aggregate (count, mean and range over every object).

Then, for comparison, PostgreSQL's own planning and execution time (``EXPLAIN
ANALYZE`` as the query role) of like queries: the rest is the service, HTTP
and the client.

Targets (issue 3): cone r = 0.05° p50 under 15 ms, 20,000 rows in BINARY2
under 60 ms, async round trip under 200 ms.

Run with ``make bench`` or ``benchmarks/tap/run [--scale N] [--reload]``
(``--only binary2,parquet`` runs some scenarios: ``cone``, ``cone-large``,
``binary2``, ``parquet``, ``async``, ``aggregate``; ``--no-narrow`` serves
without the narrow projection of ``object``, for comparison);
``--py-spy FILE`` records the server meanwhile (a flame graph if FILE ends
in ``.svg``, else collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pyarrow.parquet as pq
import yaml
from astropy.io.votable import parse_single_table
from rsp_tap.adql import translate
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.models.narrow import NO_NARROW_TABLES
from rsp_tap.storage.narrow import read_narrow_tables

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
READER_ROLE = "rsp_tap_bench_reader"
TABLES = "object,truth_match,position"
NARROW_OBJECT = "dp01_dc2_catalogs_narrow.object"
USER = "bench"

COLUMNS = (
    "objectId, ra, dec, mag_g, mag_r, mag_i, magerr_g, magerr_r, magerr_i,"
    " extendedness, good, clean"
)
"""What each cone and the 20,000-row result select (12 columns)."""

AGGREGATE = (
    "SELECT COUNT(*) AS n, AVG(mag_r) AS mean_mag_r, MIN(dec) AS dec_min,"
    " MAX(dec) AS dec_max FROM dp01_dc2_catalogs.object"
)

TARGETS_MS = {
    "cone r=0.05 deg": 15.0,
    "20,000 rows BINARY2": 60.0,
    "async round trip": 200.0,
}
"""Targets on p50 (issue 3)."""


@dataclass
class Timing:
    """Latencies of one scenario and the rows its answers held."""

    name: str
    milliseconds: list[float]
    rows: list[int]
    database_ms: list[float] = field(default_factory=list)
    """PostgreSQL's own planning and execution time of like queries."""

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.milliseconds)
        index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
        return ordered[index]


def psql(database: str, sql: str) -> str:
    """Run SQL as the superuser and return psql's unaligned output."""
    result = subprocess.run(
        ["psql", f"{PG_SERVER}/{database}", "-XAtq", "-v", "ON_ERROR_STOP=1"],
        input=sql,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def loaded_objects(database: str) -> int | None:
    """Rows of the database's ``object`` table (None: no such database or table)."""
    if not psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"):
        return None
    exists = psql(database, "SELECT to_regclass('dp01_dc2_catalogs.object')")
    if not exists:
        return None
    for table in TABLES.split(",")[1:]:
        if not psql(database, f"SELECT to_regclass('dp01_dc2_catalogs.{table}')"):
            return None
    return int(psql(database, "SELECT count(*) FROM dp01_dc2_catalogs.object"))


def ensure_catalog(database: str, scale: int, *, reload: bool) -> None:
    """Reuse the loaded database if it holds ``scale`` objects; load it otherwise.

    A database loaded before narrow projections existed gets its projection
    built (``rsp-tap build-narrow``, a few minutes at 10 million objects).
    """
    started = time.monotonic()
    count = None if reload else loaded_objects(database)
    if count == scale:
        print(
            f"Reusing database {database}: {count:,} objects already loaded"
            f" (checked in {time.monotonic() - started:.1f} s)"
        )
        if not psql(database, f"SELECT to_regclass('{NARROW_OBJECT}')"):
            print(f"Building the narrow projection {NARROW_OBJECT}")
            env = {
                **os.environ,
                "RSP_TAP_ADMIN_DATABASE_URL": f"{PG_SERVER}/{database}",
            }
            subprocess.run([BIN / "rsp-tap", "build-narrow"], env=env, check=True)
        return
    why = "asked to reload" if reload else f"found {count}"
    print(f"Loading {scale:,} objects into {database} ({why}); this takes a while")
    if not psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"):
        psql("postgres", f'CREATE DATABASE "{database}"')
    env = {**os.environ, "RSP_TAP_ADMIN_DATABASE_URL": f"{PG_SERVER}/{database}"}
    subprocess.run(
        [BIN / "rsp-tap", "init-db", "--reader-role", READER_ROLE], env=env, check=True
    )
    subprocess.run(
        [
            BIN / "rsp-tap",
            "load",
            "--scale",
            str(scale),
            "--tables",
            TABLES,
            "--jobs",
            "2",
        ],
        env=env,
        check=True,
    )
    # Visibility map set: the reuse check above counts from the primary key.
    psql(database, "VACUUM dp01_dc2_catalogs.object")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def tap_server(database: str, py_spy: Path | None, *, narrow: bool) -> Iterator[str]:
    """Serve TAP on the catalog database as production does; yield its URL.

    ``narrow``: whether the service reads ``object`` from its narrow
    projection when a query allows (the default of the service).
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        config = {
            "environment": "bench",
            "base_url": f"http://127.0.0.1:{port}",
            "database_url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
            "query_database_url": f"postgresql://{READER_ROLE}@127.0.0.1:5432/{database}",
            "result_storage": {"type": "local", "path": f"{tmp}/results"},
            "sync_timeout": 600,
            "log_level": "WARNING",
            "narrow_projections": narrow,
        }
        config_path = Path(tmp) / "tap.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RSP_TAP_")}
        env["RSP_TAP_CONFIG_PATH"] = str(config_path)
        subprocess.run(
            [BIN / "rsp-tap", "migrate"], env=env, check=True, capture_output=True
        )
        command = [
            str(BIN / "uvicorn"),
            "rsp_tap.main:create_app",
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
        ]
        if py_spy is not None:
            # A flame graph (.svg), or collapsed stacks (any other name).
            form = "flamegraph" if py_spy.suffix == ".svg" else "raw"
            spy = [str(BIN / "py-spy"), "record", "-f", form, "-o", str(py_spy)]
            command = [*spy, "--", *command]
        process = subprocess.Popen(command, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            yield f"{base}/api/tap"
        finally:
            os.killpg(process.pid, signal.SIGINT if py_spy else signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    """Wait for the service's health route."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the TAP service exited with status {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("the TAP service did not start within 60 s")


def cone(rng: random.Random, radius: float, *, top: int | None = None) -> str:
    """ADQL of a cone search at a random centre well inside the footprint."""
    ra = rng.uniform(52.0, 73.0)
    dec = rng.uniform(-43.0, -27.0)
    select = f"SELECT TOP {top}" if top is not None else "SELECT"
    return (
        f"{select} {COLUMNS} FROM dp01_dc2_catalogs.object"
        f" WHERE CONTAINS(POINT('ICRS', ra, dec),"
        f" CIRCLE('ICRS', {ra:.5f}, {dec:.5f}, {radius})) = 1"
    )


def votable_rows(content: bytes) -> int:
    """Rows of a VOTable answer."""
    return len(parse_single_table(io.BytesIO(content)).array)


def parquet_rows(content: bytes) -> int:
    """Rows of a Parquet answer."""
    rows: int = pq.read_metadata(io.BytesIO(content)).num_rows
    return rows


_PARSED = 5
"""Answers of each scenario parsed to count their rows."""


def sync_scenario(
    client: httpx.Client,
    tap: str,
    name: str,
    queries: Callable[[], str],
    trials: int,
    *,
    response_format: str = "votable",
    count: Callable[[bytes], int] = votable_rows,
) -> Timing:
    """Time ``trials`` sync queries (POST, answer read in full), back to back.

    The first answers are parsed to count their rows (outside the timing);
    the others only checked for their status, so that requests follow one
    another as from wrk, not after the pause a client's parsing makes.
    """
    timing = Timing(name, [], [])
    for trial in range(trials):
        data = {"LANG": "ADQL", "QUERY": queries(), "RESPONSEFORMAT": response_format}
        started = time.perf_counter()
        response = client.post(f"{tap}/sync", data=data)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            sys.exit(f"{name}: HTTP {response.status_code}: {response.text[:500]}")
        timing.milliseconds.append(elapsed)
        if trial < _PARSED:
            timing.rows.append(count(response.content))
            # Parsing leaves cyclic garbage: collected now, not while timing.
            gc.collect()
    return timing


def database_time(
    database: str,
    timing: Timing,
    queries: Callable[[], str],
    trials: int,
    *,
    narrow: bool,
) -> None:
    """Add PostgreSQL's time (EXPLAIN ANALYZE) for ``trials`` like queries.

    Fresh queries from the same generator, translated as the service does
    (with the narrow projections it would use), run as the query role:
    what the database itself spends of the total.
    """
    schema = load_catalog_schema()

    async def run() -> None:
        dsn = f"postgresql://{READER_ROLE}@127.0.0.1:5432/{database}"
        connection = await asyncpg.connect(dsn)
        try:
            projections = (
                await read_narrow_tables(connection, schema)
                if narrow
                else NO_NARROW_TABLES
            )
            for _ in range(trials):
                query = translate(queries(), schema, narrow=projections)
                plan = await connection.fetchval(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) {query.sql}", *query.params
                )
                report = json.loads(plan)[0]
                timing.database_ms.append(
                    report["Planning Time"] + report["Execution Time"]
                )
        finally:
            await connection.close()

    asyncio.run(run())


_PHASE = re.compile(rb"<uws:phase>(\w+)</uws:phase>")


def async_round_trip(
    client: httpx.Client, tap: str, queries: Callable[[], str], trials: int
) -> Timing:
    """Time submit (PHASE=RUN), WAIT until the job ends, fetch the result."""
    timing = Timing("async round trip", [], [])
    for trial in range(trials):
        data = {"LANG": "ADQL", "QUERY": queries(), "PHASE": "RUN"}
        started = time.perf_counter()
        created = client.post(f"{tap}/async", data=data)
        if created.status_code != 303:
            sys.exit(f"async: HTTP {created.status_code}: {created.text[:500]}")
        job = created.headers["location"]
        phase = b""
        while phase not in (b"COMPLETED", b"ERROR", b"ABORTED"):
            answer = client.get(job, params={"WAIT": "30"})
            match = _PHASE.search(answer.content)
            phase = match.group(1) if match else b"?"
        if phase != b"COMPLETED":
            sys.exit(f"async: the job ended {phase.decode()}: {answer.text[:500]}")
        result = client.get(f"{job}/results/result", follow_redirects=True)
        elapsed = (time.perf_counter() - started) * 1000
        if result.status_code != 200:
            sys.exit(f"async result: HTTP {result.status_code}")
        timing.milliseconds.append(elapsed)
        if trial < _PARSED:
            timing.rows.append(votable_rows(result.content))
            gc.collect()
        client.delete(job)
    return timing


def report(timings: list[Timing]) -> list[str]:
    """Print the figures; return the targets missed."""
    print(
        f"\n{'scenario':<26} {'n':>4} {'rows':>7} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'min ms':>8} {'max ms':>8} {'db p50 ms':>10}"
    )
    for t in timings:
        database = f"{statistics.median(t.database_ms):>10.1f}" if t.database_ms else ""
        print(
            f"{t.name:<26} {len(t.milliseconds):>4} {statistics.mean(t.rows):>7.0f}"
            f" {t.percentile(0.5):>8.1f} {t.percentile(0.95):>8.1f}"
            f" {min(t.milliseconds):>8.1f} {max(t.milliseconds):>8.1f}{database}"
        )
    print(
        "db p50: PostgreSQL's planning and execution (EXPLAIN ANALYZE) of like"
        " queries (new random centres), run once the HTTP scenarios are done"
    )
    missed = []
    for t in timings:
        target = TARGETS_MS.get(t.name)
        if target is None:
            continue
        p50 = t.percentile(0.5)
        verdict = "met" if p50 < target else "MISSED"
        print(f"target {t.name}: p50 {p50:.1f} ms < {target:.0f} ms: {verdict}")
        if p50 >= target:
            missed.append(t.name)
    return missed


def main() -> None:
    """Load (or reuse) the catalog, serve TAP, run every scenario, print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000_000, help="objects")
    parser.add_argument("--database", default="rsp_tap_bench", help="kept database")
    parser.add_argument("--reload", action="store_true", help="load even if loaded")
    parser.add_argument("--cone-trials", type=int, default=200)
    parser.add_argument("--large-trials", type=int, default=30)
    parser.add_argument("--async-trials", type=int, default=50)
    parser.add_argument("--aggregate-trials", type=int, default=3)
    parser.add_argument(
        "--db-trials", type=int, default=20, help="EXPLAIN ANALYZE per scenario"
    )
    parser.add_argument("--seed", type=int, default=20261124, help="cone centres")
    parser.add_argument("--py-spy", type=Path, help="record the server to this file")
    parser.add_argument(
        "--no-narrow",
        action="store_true",
        help="serve without the narrow projection of object (read the table)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        default="cone,cone-large,binary2,parquet,async,aggregate",
        help="scenarios to run, comma-separated (default: all)",
    )
    args = parser.parse_args()
    if not shutil.which("psql"):
        sys.exit("psql is not installed: run scripts/bootstrap.sh")

    ensure_catalog(args.database, args.scale, reload=args.reload)
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    with (
        tap_server(args.database, args.py_spy, narrow=not args.no_narrow) as tap,
        httpx.Client(headers={"X-Auth-Request-User": USER}, timeout=900) as client,
    ):
        # Warm-up, not reported: connections, prepared statements, caches.
        sync_scenario(client, tap, "warm-up", lambda: cone(rng, 0.05), 30)
        sync_scenario(client, tap, "warm-up", lambda: cone(rng, 0.5), 5)
        small = lambda: cone(rng, 0.05)  # noqa: E731
        large = lambda: cone(rng, 0.5)  # noqa: E731
        # TOP 20000 of a 0.6 deg cone (about 28,000 objects in the footprint).
        rows_20k = lambda: cone(rng, 0.6, top=20_000)  # noqa: E731
        everything = lambda: AGGREGATE  # noqa: E731
        plans: dict[str, Callable[[], tuple[Timing, Callable[[], str], int]]] = {
            "cone": lambda: (
                sync_scenario(client, tap, "cone r=0.05 deg", small, args.cone_trials),
                small,
                args.db_trials,
            ),
            "cone-large": lambda: (
                sync_scenario(
                    client, tap, "cone r=0.5 deg", large, max(args.cone_trials // 4, 1)
                ),
                large,
                args.db_trials,
            ),
            "binary2": lambda: (
                sync_scenario(
                    client, tap, "20,000 rows BINARY2", rows_20k, args.large_trials
                ),
                rows_20k,
                args.db_trials,
            ),
            "parquet": lambda: (
                sync_scenario(
                    client,
                    tap,
                    "20,000 rows Parquet",
                    rows_20k,
                    args.large_trials,
                    response_format="parquet",
                    count=parquet_rows,
                ),
                rows_20k,
                0,
            ),
            "async": lambda: (
                async_round_trip(client, tap, small, args.async_trials),
                small,
                0,
            ),
            "aggregate": lambda: (
                sync_scenario(
                    client,
                    tap,
                    "full-table aggregate",
                    everything,
                    args.aggregate_trials,
                    response_format="csv",
                    count=lambda content: content.count(b"\n") - 1,
                ),
                everything,
                1,
            ),
        }
        unknown = set(args.only) - set(plans)
        if unknown:
            sys.exit(f"unknown scenarios {sorted(unknown)}; known: {', '.join(plans)}")
        scenarios = [plan() for name, plan in plans.items() if name in args.only]
    timings = []
    for timing, queries, trials in scenarios:
        database_time(args.database, timing, queries, trials, narrow=not args.no_narrow)
        timings.append(timing)
    load_after = os.getloadavg()
    print(
        f"\nTAP on {args.scale:,} objects ({args.database}): uvicorn, 1 worker,"
        f" uvloop, httptools; one client, trusted X-Auth-Request-User header;"
        f" narrow projection {'off' if args.no_narrow else 'on'}"
    )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
        f" (1 min), {os.cpu_count()} CPUs"
    )
    missed = report(timings)
    if missed:
        print(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
