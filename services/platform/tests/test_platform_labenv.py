"""The lab environment: the lab lock installs into a clean venv that runs the clients.

The install is keyed by the lock's digest under a cache directory, so it is
done again only when the lock changes; the import check runs every time.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rsp_platform.cli import main as cli
from rsp_platform.labenv import (
    LAB_REQUIREMENTS,
    STAMP_FILE,
    LabEnvironmentError,
    build_lab_environment,
    find_uv,
    lock_digest,
)

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / LAB_REQUIREMENTS
SOURCES = LOCK.with_name("requirements.in")
CACHE = Path(
    os.environ.get(
        "RSP_LAB_TEST_CACHE", Path.home() / ".cache" / "rsp-platform" / "lab"
    )
)

IMPORTS = (
    "from lsst.daf.butler import Butler\n"
    "from lsst.daf.butler.remote_butler import RemoteButler\n"
    "import lsst.rsp, lsst.images, pyvo, astropy, numpy, pandas, matplotlib\n"
    "import jupyterlab, jupyterhub.singleuser, ipykernel\n"
    "print('imports ok')\n"
)


def _uv() -> Path:
    try:
        return find_uv()
    except LabEnvironmentError:
        pytest.skip("uv is not installed (scripts/bootstrap.sh installs it)")


@pytest.mark.slow
def test_lab_lock_installs_into_a_clean_venv_and_the_clients_import() -> None:
    uv = _uv()
    venv = CACHE / lock_digest(LOCK) / "venv"
    built = build_lab_environment(venv, LOCK, uv=uv)
    assert (venv / STAMP_FILE).read_text().strip() == built.digest
    result = subprocess.run(
        [str(built.python), "-c", IMPORTS],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imports ok"
    assert (built.bin / "jupyter-labhub").exists()
    # A second call finds the venv current and returns at once.
    start = time.monotonic()
    again = build_lab_environment(venv, LOCK, uv=uv)
    assert not again.rebuilt
    assert time.monotonic() - start < 1.0


def test_lock_pins_every_requirement_with_hashes() -> None:
    lock = LOCK.read_text()
    names = [
        re.split(r"[\[<>=~ ]", line.strip(), maxsplit=1)[0].lower()
        for line in SOURCES.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "lsst-daf-butler" in names
    for name in names:
        assert re.search(rf"^{re.escape(name)}==\S+ \\$", lock, re.MULTILINE), name
    # Every pinned requirement carries at least one hash (uv pip compile
    # --generate-hashes), so `uv pip sync --require-hashes` accepts the lock.
    blocks = re.findall(
        r"^\S+==\S+(?: ;[^\\\n]*)? \\\n(?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+",
        lock,
        re.MULTILINE,
    )
    pinned = re.findall(r"^\S+==\S+", lock, re.MULTILINE)
    assert len(blocks) == len(pinned) > 50


def test_a_missing_lock_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LabEnvironmentError, match="no such lock file"):
        build_lab_environment(tmp_path / "venv", tmp_path / "requirements.txt")


def test_digest_changes_with_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("a==1\n")
    first = lock_digest(lock)
    lock.write_text("a==2\n")
    assert lock_digest(lock) != first


def test_cli_reports_a_current_venv_without_rebuilding(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    (venv / STAMP_FILE).write_text(lock_digest(lock) + "\n")
    result = CliRunner().invoke(
        cli, ["lab-env", "--venv", str(venv), "--requirements", str(lock)]
    )
    assert result.exit_code == 0, result.output
    assert "(current, lock" in result.output
    missing = CliRunner().invoke(
        cli, ["lab-env", "--venv", str(venv), "--requirements", str(tmp_path / "x")]
    )
    assert missing.exit_code == 1
    assert "no such lock file" in missing.output
