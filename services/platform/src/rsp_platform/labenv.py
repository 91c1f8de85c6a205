"""The lab environment of ``make dev``: a virtual environment from the lab lock.

The lab image installs ``images/lab/requirements.txt`` (hashes, Python
3.13); local labs run from a virtual environment built from the same lock,
so what the image ships is what local labs and tests exercise.
``rsp-platform lab-env`` builds it (default ``.dev/lab/venv``) with uv: a
venv whose recorded lock digest matches the lock is left as it is, so the
command is fast when nothing changed.

For the hub's local spawner: run labs with ``<venv>/bin/jupyter-labhub`` (or
``<venv>/bin/python -m jupyterhub.singleuser``) and the environment of
``rsp_notebooks.labenv.lab_environment``; call
:func:`build_lab_environment` (or the CLI) before the first spawn.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_LAB_VENV",
    "LAB_REQUIREMENTS",
    "STAMP_FILE",
    "LabEnvironment",
    "LabEnvironmentError",
    "build_lab_environment",
    "find_uv",
    "lock_digest",
]

LAB_REQUIREMENTS = Path("images/lab/requirements.txt")
"""The lab lock, relative to the repository root."""

DEFAULT_LAB_VENV = Path(".dev/lab/venv")
"""Where ``make dev`` keeps the lab environment, relative to the repository root."""

STAMP_FILE = "rsp-lab-lock.sha256"
"""File in the venv recording the digest of the lock it was built from."""


class LabEnvironmentError(RuntimeError):
    """The lab environment cannot be built; the message says why."""


@dataclass(frozen=True)
class LabEnvironment:
    """A built lab environment."""

    venv: Path
    digest: str
    rebuilt: bool

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.venv / "bin" / "python"

    @property
    def bin(self) -> Path:
        """Directory of its commands (``jupyter-labhub``, ``jupyter-lab``)."""
        return self.venv / "bin"


def lock_digest(requirements: Path) -> str:
    """SHA-256 of the lock file and the Python version labs run."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"python{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()


def find_uv() -> Path:
    """The uv executable: ``$RSP_UV``, the repository's ``.tools/uv``, or PATH.

    Raises
    ------
    LabEnvironmentError
        If uv is nowhere (``scripts/bootstrap.sh`` installs it).
    """
    candidates = [
        os.environ.get("RSP_UV", ""),
        str(Path(".tools/uv/bin/uv")),
        str(Path(sys.executable).parent / "uv"),
        shutil.which("uv") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    raise LabEnvironmentError("uv not found: run scripts/bootstrap.sh or set RSP_UV")


def _run(command: list[str], what: str) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        command, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode != 0:
        raise LabEnvironmentError(
            f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def build_lab_environment(
    venv: Path = DEFAULT_LAB_VENV,
    requirements: Path = LAB_REQUIREMENTS,
    *,
    uv: Path | None = None,
    force: bool = False,
) -> LabEnvironment:
    """Make ``venv`` hold exactly the lab lock; do nothing if it already does.

    Parameters
    ----------
    venv
        The virtual environment to build or check.
    requirements
        The lab lock (with hashes).
    uv
        The uv executable (default: :func:`find_uv`).
    force
        Rebuild even if the recorded digest matches.

    Raises
    ------
    LabEnvironmentError
        If the lock is missing or uv fails.
    """
    if not requirements.is_file():
        raise LabEnvironmentError(f"{requirements}: no such lock file")
    digest = lock_digest(requirements)
    stamp = venv / STAMP_FILE
    python = venv / "bin" / "python"
    if (
        not force
        and python.exists()
        and stamp.is_file()
        and stamp.read_text().strip() == digest
    ):
        return LabEnvironment(venv=venv, digest=digest, rebuilt=False)
    uv = uv or find_uv()
    venv.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    _run(
        [str(uv), "venv", "--clear", "--quiet", "--python", sys.executable, str(venv)],
        "creating the lab venv",
    )
    _run(
        [
            str(uv),
            "pip",
            "sync",
            "--quiet",
            "--require-hashes",
            "--python",
            str(python),
            str(requirements),
        ],
        "installing the lab lock",
    )
    stamp.write_text(digest + "\n")
    return LabEnvironment(venv=venv, digest=digest, rebuilt=True)
