"""Benchmark of the notebooks on the local platform, end to end over HTTP.

The platform runs as ``make dev`` runs it (nginx rendered from the route
table, the gateway, the hub with the local spawner and configurable-http-proxy),
on free loopback ports. Two measurements:

- spawn to kernel: from the spawn request (``POST /nb/hub/api/users/<u>/server``
  through the ingress) to the answer of ``1 + 1`` run in a new kernel of the
  lab (lab ready, OAuth login to the lab, kernel started, code run over the
  kernel's WebSocket); target under 5 s;
- hub API latency: N simulated users (200 by default), each logged in to the
  hub with its own token and cookies, poll their server status
  (``GET /nb/hub/api/users/<u>``, through nginx, the gateway's auth
  subrequest and the proxy) once per interval; target p95 under 200 ms.
  Each interval of ``--intervals`` is run in turn with the same users, and
  the CPU time each process spent per request (hub, proxy, gateway, nginx,
  this load generator) is printed: unlike latency on a shared machine, it
  says what one request costs.

Run with ``make bench`` or ``benchmarks/notebooks/run [--users 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "services" / "notebooks" / "tests"))

from nbtest.kernel import run_code  # noqa: E402
from nbtest.platform import LocalPlatform, local_platform  # noqa: E402

SCOPES = ["exec:notebook", "read:tap", "read:image", "user:token"]
LAB_VENV = ROOT / ".dev" / "lab" / "venv"


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]


def load_average() -> str:
    """The machine's 1-minute load average (others share its two cores)."""
    return f"{os.getloadavg()[0]:.1f}"


def _process(stat: str) -> tuple[int, str, float]:
    """(parent pid, command, user + system CPU seconds) from /proc/<pid>/stat."""
    command = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), command, (int(fields[11]) + int(fields[12])) / ticks


def cpu_by_part(platform: LocalPlatform) -> dict[str, float]:
    """CPU seconds used so far by each part of the platform and by this process.

    A part is a process the platform started and its descendants; the hub's
    children are counted apart: the proxy (``node``) and the rest (the idle
    culler, labs).
    """
    processes: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                processes[int(entry.name)] = _process((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
    roots = {p.pid: name for name, p in platform.processes.items()}
    used = dict.fromkeys([*roots.values(), "proxy", "culler and labs"], 0.0)
    for pid, (_, command, seconds) in processes.items():
        ancestor, seen = pid, 0
        while ancestor not in roots and ancestor in processes and seen < 64:
            ancestor, seen = processes[ancestor][0], seen + 1
        name = roots.get(ancestor)
        if name == "hub" and pid != ancestor:
            name = "proxy" if command == "node" else "culler and labs"
        if name is not None:
            used[name] += seconds
    times = os.times()
    used["load generator"] = times.user + times.system
    return used


def xsrf(client: httpx.AsyncClient, path: str) -> str:
    """The hub's or lab's XSRF cookie for ``path``."""
    for cookie in client.cookies.jar:
        if cookie.name == "_xsrf" and cookie.path.rstrip("/") == path:
            return cookie.value or ""
    return ""


async def logged_in_client(platform: LocalPlatform, token: str) -> httpx.AsyncClient:
    """A client that logged in to the hub with a token (cookies kept)."""
    client = httpx.AsyncClient(
        base_url=platform.url,
        headers={"Authorization": f"Bearer {token}"},
        follow_redirects=True,
        timeout=60,
    )
    response = await client.get("/nb/hub/home")
    response.raise_for_status()
    return client


async def spawn_to_kernel(platform: LocalPlatform, trials: int) -> list[float]:
    """Seconds from the spawn request to a kernel's answer, per trial."""
    times = []
    for trial in range(trials):
        username = f"bench-spawn-{trial}"
        token = await asyncio.to_thread(
            platform.create_token, username, SCOPES, uid=43000 + trial
        )
        client = await logged_in_client(platform, token)
        try:
            hub = {"X-XSRFToken": xsrf(client, "/nb/hub")}
            start = time.perf_counter()
            spawned = await client.post(
                f"/nb/hub/api/users/{username}/server",
                json={"image_class": "recommended", "size": "small"},
                headers=hub,
            )
            spawned.raise_for_status()
            while True:
                model = (await client.get(f"/nb/hub/api/users/{username}")).json()
                if model["servers"].get("", {}).get("ready"):
                    break
                if not model["pending"]:
                    raise RuntimeError(f"spawn failed: {model}")
                await asyncio.sleep(0.05)
            ready = time.perf_counter() - start
            (await client.get(f"/nb/user/{username}/lab")).raise_for_status()
            opened = time.perf_counter() - start
            answer = await run_code(client, username, "print(1 + 1)")
            elapsed = time.perf_counter() - start
            if answer.strip() != "2":
                raise RuntimeError(f"the kernel answered {answer!r}")
            times.append(elapsed)
            print(
                f"  trial {trial + 1}: lab ready {ready:.2f} s,"
                f" lab open {opened:.2f} s, kernel answered {elapsed:.2f} s",
                flush=True,
            )
            await client.delete(f"/nb/hub/api/users/{username}/server", headers=hub)
        finally:
            await client.aclose()
    return times


async def logged_in_users(
    platform: LocalPlatform, users: int
) -> list[httpx.AsyncClient]:
    """``users`` users, each with a token and logged in to the hub."""
    clients = []
    for i in range(users):
        token = await asyncio.to_thread(
            platform.create_token, f"bench-user-{i:03d}", SCOPES, uid=44000 + i
        )
        clients.append(await logged_in_client(platform, token))
    return clients


async def poll_status(
    clients: list[httpx.AsyncClient], duration: float, interval: float
) -> tuple[list[float], int]:
    """Latencies (ms) of every status poll of the users, and errors."""
    latencies: list[float] = []
    errors = 0

    async def user(index: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        url = f"/nb/hub/api/users/bench-user-{index:03d}"
        await asyncio.sleep(random.uniform(0, interval))
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            start = time.perf_counter()
            response = await client.get(url)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                errors += 1
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - start)))

    await asyncio.gather(*(user(i, c) for i, c in enumerate(clients)))
    return latencies, errors


async def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="spawns to time")
    parser.add_argument("--users", type=int, default=200, help="polling users")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument(
        "--intervals",
        type=lambda text: [float(v) for v in text.split(",")],
        default=[1.0],
        help="poll periods to run in turn, comma-separated (seconds)",
    )
    args = parser.parse_args()
    has_lab_venv = (LAB_VENV / "bin" / "jupyterhub-singleuser").exists()
    lab_venv = LAB_VENV if has_lab_venv else None
    with (
        tempfile.TemporaryDirectory() as workdir,
        local_platform(Path(workdir), lab_venv=lab_venv) as platform,
    ):
        print(f"Local platform at {platform.url}; labs from {lab_venv or sys.prefix}")
        await measure(platform, args)


async def measure(platform: LocalPlatform, args: argparse.Namespace) -> None:
    """Both measurements on a running platform, printed."""
    if args.trials:
        print(f"load average {load_average()}", flush=True)
        times = await spawn_to_kernel(platform, args.trials)
        print(
            f"spawn to kernel answer: median {statistics.median(times):.2f} s,"
            f" min {min(times):.2f} s, max {max(times):.2f} s"
            f" over {len(times)} spawns (target < 5 s), load {load_average()}",
            flush=True,
        )
    if not args.users:
        return
    clients = await logged_in_users(platform, args.users)
    try:
        for interval in args.intervals:
            await measure_polling(platform, clients, args.duration, interval)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def measure_polling(
    platform: LocalPlatform,
    clients: list[httpx.AsyncClient],
    duration: float,
    interval: float,
) -> None:
    """One polling run, printed with the CPU each part spent per request."""
    load = load_average()
    before = cpu_by_part(platform)
    latencies, errors = await poll_status(clients, duration, interval)
    after = cpu_by_part(platform)
    count = max(1, len(latencies))
    cpu = ", ".join(
        f"{name} {(after[name] - before[name]) * 1000 / count:.1f}" for name in after
    )
    print(
        f"hub API, {len(clients)} users polling every {interval:g} s for"
        f" {duration:g} s (load {load} to {load_average()}):"
        f" {len(latencies)} requests ({len(latencies) / duration:.0f}/s),"
        f" {errors} errors, p50 {percentile(latencies, 0.5):.1f} ms,"
        f" p95 {percentile(latencies, 0.95):.1f} ms,"
        f" p99 {percentile(latencies, 0.99):.1f} ms (target p95 < 200 ms);"
        f" CPU ms per request: {cpu}",
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
