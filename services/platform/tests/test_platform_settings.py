"""The settings base every service shares: sources, precedence, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict
from rsp_platform.settings import ConfigurationError, PlatformSettings, load_settings


class ExampleSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="RSP_EXAMPLE_", extra="forbid")
    config_path_env = "RSP_EXAMPLE_CONFIG_PATH"

    name: str = "default"
    workers: int = 1
    colour: str = "blue"


def test_files_merge_in_order_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "first.yaml"
    first.write_text("name: first\nworkers: 2\ncolour: red\n")
    second = tmp_path / "second.yaml"
    second.write_text("workers: 3\n")
    monkeypatch.setenv("RSP_EXAMPLE_CONFIG_PATH", f"{first}:{second}")
    monkeypatch.setenv("RSP_EXAMPLE_COLOUR", "green")

    settings = load_settings(ExampleSettings, "example settings")

    assert (settings.name, settings.workers, settings.colour) == ("first", 3, "green")
    overridden = load_settings(ExampleSettings, "example settings", workers=9)
    assert overridden.workers == 9


def test_no_file_gives_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RSP_EXAMPLE_CONFIG_PATH", raising=False)
    assert load_settings(ExampleSettings, "example settings").name == "default"


def test_every_problem_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("workers: many\ncolor: red\n")
    monkeypatch.setenv("RSP_EXAMPLE_CONFIG_PATH", str(path))

    with pytest.raises(ConfigurationError) as excinfo:
        load_settings(ExampleSettings, "example settings")

    message = str(excinfo.value)
    assert message.startswith("invalid example settings:\n")
    assert "  workers: Input should be a valid integer" in message
    assert "  color: Extra inputs are not permitted" in message
    assert "Traceback" not in message


def test_a_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RSP_EXAMPLE_CONFIG_PATH", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigurationError, match=r"absent\.yaml"):
        load_settings(ExampleSettings, "example settings")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: [unclosed\n", r"bad\.yaml is not valid YAML \(line 2, column 1\)"),
        (
            "- name\n- workers\n",
            r"bad\.yaml must hold a mapping of settings, not a list",
        ),
        ("just words\n", r"bad\.yaml must hold a mapping of settings, not a str"),
    ],
)
def test_a_file_that_is_no_settings_mapping_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    monkeypatch.setenv("RSP_EXAMPLE_CONFIG_PATH", str(path))
    with pytest.raises(ConfigurationError, match=expected):
        load_settings(ExampleSettings, "example settings")


def test_an_empty_file_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing set here\n")
    monkeypatch.setenv("RSP_EXAMPLE_CONFIG_PATH", str(path))
    assert load_settings(ExampleSettings, "example settings").workers == 1
