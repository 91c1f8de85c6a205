"""``rsp-hub``: JupyterHub with the platform's configuration."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .settings import SettingsError, load_settings

__all__ = ["CONFIG_FILE", "main"]

CONFIG_FILE = Path(__file__).with_name("jupyterhub_config.py")
"""The packaged JupyterHub configuration."""


def main() -> None:
    """Replace this process with ``jupyterhub -f <packaged config> [args]``.

    The settings are checked first, so that a wrong one stops the hub with a
    message naming it rather than with JupyterHub's traceback of its config.
    """
    try:
        load_settings()
    except SettingsError as e:
        sys.exit(f"rsp-hub: {e}")
    jupyterhub = Path(sys.executable).parent / "jupyterhub"
    command = str(jupyterhub) if jupyterhub.exists() else shutil.which("jupyterhub")
    if command is None:
        sys.exit("rsp-hub: jupyterhub is not installed")
    os.execv(command, [command, "-f", str(CONFIG_FILE), *sys.argv[1:]])  # noqa: S606
