"""make dev loads its catalog once per layout, and again when the layout changes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from rsp_platform import devtap
from rsp_platform.dev import DevEnvironment


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The set-up steps prepare_tap runs, recorded instead of run."""
    done: list[str] = []

    def create(server: str, database: str) -> None:
        done.append("create")

    def rsp_tap(arguments: list[str], environ: Mapping[str, str], timeout: int) -> None:
        done.append(arguments[0])

    monkeypatch.setattr(devtap, "_create_database", create)
    monkeypatch.setattr(devtap, "_rsp_tap", rsp_tap)
    return done


def test_catalog_is_loaded_once(steps: list[str], tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    devtap.prepare_tap(env, {})
    assert steps == ["create", "init-db", "load", "migrate"]
    devtap.prepare_tap(env, {})
    assert steps == ["create", "init-db", "load", "migrate", "migrate"]
    assert (tmp_path / "tap.yaml").exists()


def test_catalog_of_an_older_layout_is_loaded_again(
    steps: list[str], tmp_path: Path
) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    database = devtap.tap_database_name(env)
    # What make dev wrote before the narrow projection existed.
    (tmp_path / "tap-loaded").write_text(f"{database} {devtap.DEV_TAP_SCALE}\n")
    devtap.prepare_tap(env, {})
    assert steps == ["create", "init-db", "load", "migrate"]
    marker = (tmp_path / "tap-loaded").read_text()
    assert marker.strip().endswith(f"layout {devtap.CATALOG_LAYOUT}")
