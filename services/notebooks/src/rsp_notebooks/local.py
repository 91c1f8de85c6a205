"""The local lab spawner of ``make dev``: each lab a process on this machine.

Same options form, same option checks, same token rules and the same lab
environment (:func:`rsp_notebooks.labenv.lab_environment`) as the
Kubernetes spawner; only the isolation differs: labs run as the hub's own
Unix user, from the lab virtual environment (``.dev/lab/venv``, built from
the lab image's lock by ``make dev``; the hub's own environment until it
exists), with their home in ``.dev/homes/<user>``.

The lab environment must provide ``jupyterhub-singleuser`` (the
``jupyterhub`` package) and JupyterLab, as the lab image does.

A lab never outlives the hub (see :func:`die_with_parent`), as a pod's
processes end with the pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode, default

from .labenv import DISCOVERY_FILE_NAME, LabEnvironment
from .spawning import LabSpawnerMixin, LabSpawnError

__all__ = ["DEFAULT_LAB_VENV", "LocalLabSpawner", "die_with_parent"]

DEFAULT_LAB_VENV = Path(".dev/lab/venv")
"""The lab virtual environment ``make dev`` builds (relative to the checkout)."""

_PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent dies (Linux)."""


def die_with_parent(
    preexec: Callable[[], None] | None, sig: int = signal.SIGTERM
) -> Callable[[], None]:
    """A ``preexec_fn``: ``preexec`` (if any), then die with this process.

    On Linux the child gets ``sig`` when the thread that starts it ends
    (``PR_SET_PDEATHSIG``): JupyterHub starts labs from its event loop, the
    hub's main thread, so when the hub ends, however it ends. Elsewhere it
    only runs ``preexec``.
    """
    if not sys.platform.startswith("linux"):
        return preexec or (lambda: None)
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def preexec_and_die_with_parent() -> None:
        if preexec is not None:
            preexec()
        # After preexec: changing the user (LocalProcessSpawner) clears it.
        if prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), sig)

    return preexec_and_die_with_parent


class LocalLabSpawner(LabSpawnerMixin, SimpleLocalProcessSpawner):  # type: ignore[misc]
    """Runs a user's lab as a local process. Development only: no isolation."""

    lab_venv = Unicode(
        config=True,
        help=(
            "Virtual environment labs run from (default: .dev/lab/venv if it"
            " exists, else the hub's own environment)."
        ),
    )
    homes_dir = Unicode(
        ".dev/homes",
        config=True,
        help="Directory of the users' homes: <homes_dir>/<user>.",
    )

    _lab_environment: LabEnvironment | None = None

    @default("lab_venv")
    def _default_lab_venv(self) -> str:
        if (DEFAULT_LAB_VENV / "bin" / "python").exists():
            return str(DEFAULT_LAB_VENV.resolve())
        return sys.prefix

    @default("home_dir")
    def _default_home_dir(self) -> str:
        return str(Path(self.homes_dir).resolve() / self.user.name)

    @default("default_url")
    def _default_default_url(self) -> str:
        return "/lab"

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return [str(Path(self.lab_venv) / "bin" / "jupyterhub-singleuser")]

    # A lab stays in the hub's process group (JupyterHub: a session of its
    # own), so that what stops the group stops its labs too (honcho on
    # Ctrl-C), and dies with the hub (a hub killed at once, or crashed,
    # stops nothing); else a lab outlived the hub and held its output open.
    @default("popen_kwargs")
    def _default_popen_kwargs(self) -> dict[str, Any]:
        return {"start_new_session": False}

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        """JupyterHub's (home, user), then the lab dies with the hub."""
        return die_with_parent(super().make_preexec_fn(name))

    def get_args(self) -> list[str]:
        """JupyterHub's arguments; root (CI, containers) must be allowed here."""
        args: list[str] = super().get_args()
        if os.geteuid() == 0:
            args.append("--allow-root")
        return args

    @property
    def lab_state_dir(self) -> Path:
        """Files the hub writes for the lab (the discovery document)."""
        name: str = self.user.name
        return Path(self.homes_dir).resolve().parent / "labs" / name

    def get_env(self) -> dict[str, str]:
        """JupyterHub's variables, then the lab environment of the contract."""
        env: dict[str, str] = super().get_env()
        bin_dir = str(Path(self.lab_venv) / "bin")
        env["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "/usr/bin")])
        env["VIRTUAL_ENV"] = self.lab_venv
        env.pop("PYTHONPATH", None)
        if self._lab_environment is not None:
            env.update(self._lab_environment.merged())
        return env

    async def start(self) -> Any:
        """Check the spawn, write the discovery file, then start the process."""
        self.reset_progress()
        try:
            await self._prepare()
        finally:
            self.end_preparation()
        ip, port = await super().start()
        await self._wait_for_port(ip or "127.0.0.1", port)
        return ip, port

    async def _wait_for_port(self, host: str, port: int) -> None:
        """Return as soon as the lab listens (JupyterHub then finds it at once).

        JupyterHub's own check backs off exponentially and can find a lab
        seconds after it is up; a connect attempt every 50 ms costs nothing.

        Raises
        ------
        LabSpawnError
            If the lab's process ends before it listens.
        """
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            status = await self.poll()
            if status is not None:
                raise LabSpawnError(
                    f"Your lab exited (status {status}) while starting; see the"
                    " hub's log"
                )
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def _prepare(self) -> None:
        self.report(5, "Checking your image, size and token")
        options = self.lab_options()
        token = self.lab_token()
        self._check_lab_venv()
        self.report(15, "Fetching service discovery for the lab")
        discovery = await self.fetch_discovery()
        discovery_file = self._write_lab_files(discovery)
        self._lab_environment = self.lab_env(options, token, str(discovery_file))
        self.report(
            40,
            f"Starting lab {options.image.display_name} ({options.size.description})"
            " as a local process",
        )

    def _check_lab_venv(self) -> None:
        if not Path(self.cmd[0]).exists():
            raise LabSpawnError(
                f"The lab environment {self.lab_venv} has no jupyterhub-singleuser:"
                " rebuild it (make dev)"
            )

    def _write_lab_files(self, discovery: str) -> Path:
        """Create the home and write the discovery document; its path."""
        state = self.lab_state_dir
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
        discovery_file = state / DISCOVERY_FILE_NAME
        discovery_file.write_text(discovery)
        Path(self.home_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        return discovery_file

    async def stop(self, now: bool = False) -> None:
        """Stop the process and revoke the lab's token."""
        await super().stop(now=now)
        self._lab_environment = None
        (self.lab_state_dir / DISCOVERY_FILE_NAME).unlink(missing_ok=True)
        await self.revoke_lab_token()

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Our steps, then a wait for the lab to answer."""
        async for event in self.lab_progress(self._spawn_future):
            yield event
        yield {"progress": 60, "message": "Waiting for your lab to answer"}
