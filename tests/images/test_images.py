"""Every image's Dockerfile follows the platform's rules, and its lock installs.

No container engine runs here: the Dockerfiles are checked for what they
say, and what each one installs from ``uv.lock`` is installed for real into a
clean virtual environment and imported.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.images.dockerfile import (
    locked_packages,
    parse_dockerfile,
    structural_problems,
)

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "uv" / "bin" / "uv"
DOCKERFILES = sorted((ROOT / "images").glob("*/Dockerfile"))
GOOD = """\
FROM python:3.13.0-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
RUN uv sync --frozen --no-dev --package rsp-gateway
FROM python:3.13.0-slim-bookworm
COPY --from=build /opt/venv /opt/venv
USER 1000:1000
HEALTHCHECK CMD ["true"]
CMD ["uvicorn"]
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return structural_problems(parse_dockerfile(path))


def test_there_are_images() -> None:
    assert any(p.parent.name == "gateway" for p in DOCKERFILES)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_structure(dockerfile: Path) -> None:
    assert structural_problems(parse_dockerfile(dockerfile)) == []


def test_the_rules_pass_a_good_dockerfile(tmp_path: Path) -> None:
    assert _problems(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("FROM python:3.13.0-slim-bookworm\nCOPY", "FROM python:latest\nCOPY"),
            "not pinned",
        ),
        (
            ("FROM python:3.13.0-slim-bookworm AS build", "FROM python AS build"),
            "not pinned",
        ),
        (("uv:0.13.9", "uv:latest"), "COPY --from=ghcr.io/astral-sh/uv:latest"),
        (("USER 1000:1000\n", ""), "no USER"),
        (("USER 1000:1000", "USER root"), "final USER is root"),
        (("USER 1000:1000", "USER 0:0"), "final USER is root"),
        (('HEALTHCHECK CMD ["true"]\n', ""), "no HEALTHCHECK"),
        (("--frozen ", ""), "not installed from the lock"),
        (
            ("USER 1000", "RUN apt-get install -y gcc\nUSER 1000"),
            "build tools installed in the final stage",
        ),
    ],
)
def test_each_rule_catches_its_violation(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in GOOD
    problems = _problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(expected in p for p in problems), problems


def test_single_stage_is_refused(tmp_path: Path) -> None:
    single = (
        "FROM python:3.13.0-slim-bookworm\nRUN uv sync --frozen\n"
        'USER 1000\nHEALTHCHECK CMD ["true"]\n'
    )
    assert any("single stage" in p for p in _problems(tmp_path, single))


def test_continued_lines_and_comments(tmp_path: Path) -> None:
    text = GOOD.replace(
        "RUN uv sync --frozen --no-dev --package rsp-gateway",
        "RUN uv sync \\\n    # the lock, exactly\n    --frozen --no-dev \\\n"
        "    --package rsp-gateway",
    )
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    stages = parse_dockerfile(path)
    assert structural_problems(stages) == []
    assert locked_packages(stages) == ["rsp-gateway"]


LOCKED = sorted(
    {
        (p.parent.name, pkg)
        for p in DOCKERFILES
        for pkg in locked_packages(parse_dockerfile(p))
    }
)


@pytest.mark.parametrize(("image", "package"), LOCKED)
def test_lock_installs_into_a_clean_environment(
    tmp_path: Path, image: str, package: str
) -> None:
    if not UV.exists():
        pytest.skip("uv is not installed: run scripts/bootstrap.sh")
    venv = tmp_path / "venv"
    environment = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "VIRTUAL_ENV": "",
    }
    subprocess.run(
        [
            str(UV),
            "sync",
            "--frozen",
            "--no-dev",
            "--no-editable",
            "--package",
            package,
        ],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=600,
    )
    module = package.replace("-", "_")
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import {module}; print({module}.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    # Installed into the environment, not pointing back at the source tree.
    assert str(venv) in result.stdout, (image, result.stdout)
    for script in _console_scripts(package):
        subprocess.run(
            [str(venv / "bin" / script), "--help"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    smoke = ROOT / "images" / image / "smoke.py"
    if smoke.exists():
        # The image's own run-time check (packaged data, the app builds),
        # with a HOME of its own and nothing of this environment.
        home = tmp_path / "home"
        home.mkdir()
        checked = subprocess.run(
            [str(venv / "bin" / "python"), str(smoke)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home)},
            timeout=300,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.rstrip().endswith("ok"), checked.stdout


def _console_scripts(package: str) -> list[str]:
    """The commands a workspace package declares (``[project.scripts]``)."""
    for pyproject in [
        *ROOT.glob("services/*/pyproject.toml"),
        *ROOT.glob("operator/pyproject.toml"),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        if project["name"] == package:
            return sorted(project.get("scripts", {}))
    raise AssertionError(f"{package} is not a package of the workspace")
