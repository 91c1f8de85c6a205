"""The hub's settings: files merged in order, environment first, errors named."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from rsp_notebooks.settings import (
    CONFIG_PATH_ENV,
    HUB_MINIMUM_LIFETIME,
    SettingsError,
    load_settings,
)


def test_files_merge_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hub.yaml"
    hub.write_text(yaml.safe_dump({"mode": "local", "namespace": "labs"}))
    sizes = tmp_path / "sizes.yaml"
    sizes.write_text(yaml.safe_dump({"default_size": "small"}))
    monkeypatch.setenv(CONFIG_PATH_ENV, f"{hub}:{sizes}")
    monkeypatch.setenv("RSP_NOTEBOOKS_NAMESPACE", "from-env")
    settings = load_settings()
    assert settings.mode == "local"
    assert settings.default_size == "small"
    assert settings.namespace == "from-env"


def test_public_address_and_culler() -> None:
    settings = load_settings(public_url="http://127.0.0.1:8004", idle_timeout=600)
    assert settings.public_address == ("127.0.0.1", 8004)
    command = settings.culler_command(sys.executable)
    assert command[1:3] == ["-m", "jupyterhub_idle_culler"]
    assert "--timeout=600" in command
    assert f"--max-age={settings.max_lab_age}" in command


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "docker"}, "mode"),
        ({"unknown": 1}, "unknown"),
        ({"default_size": "huge"}, "default size huge"),
        ({"images": {"images": []}}, "invalid image catalog"),
        ({"max_lab_age": HUB_MINIMUM_LIFETIME}, "exceeds the lifetime the ingress"),
    ],
)
def test_wrong_settings_are_refused_with_their_name(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(**overrides)


def test_the_hub_route_guarantees_the_default_lab_age() -> None:
    settings = load_settings()
    assert settings.max_lab_age + settings.cull_every <= HUB_MINIMUM_LIFETIME


def test_every_problem_is_one_line_of_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings(mode="docker", cull_every=1)
    message = str(error.value)
    assert message.startswith("invalid notebooks settings:\n")
    assert "\n  mode: " in message
    assert "\n  cull_every: " in message

    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "absent.yaml"))
    with pytest.raises(SettingsError, match=rf"{CONFIG_PATH_ENV}.*absent\.yaml"):
        load_settings()
