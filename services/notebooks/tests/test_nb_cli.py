"""``rsp-hub``: a wrong setting stops it with a message, before JupyterHub starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RSP_HUB = Path(sys.executable).parent / "rsp-hub"


def _run(tmp_path: Path, settings: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "hub.yaml"
    path.write_text(settings)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RSP_")}
    environ["RSP_NOTEBOOKS_CONFIG_PATH"] = str(path)
    return subprocess.run(
        [str(RSP_HUB), "--help"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_wrong_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    result = _run(tmp_path, "mode: cloud\nno_such_setting: 1\n")

    assert result.returncode == 1
    assert result.stderr.startswith("rsp-hub: invalid notebooks settings:")
    assert "mode: Input should be 'kubernetes' or 'local'" in result.stderr
    assert "no_such_setting: Extra inputs are not permitted" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    result = _run(tmp_path, "mode: [local\n")

    assert result.returncode == 1
    assert "hub.yaml is not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr
