"""Our Butler settings: environment over the YAML file, errors named at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rsp_butler.config import CONFIG_PATH_ENV, ConfigurationError, load_config

FILES_URL = "http://localhost:8000/api/butler/files"
SIGNING_KEY = "k" * 32


def test_unset_means_no_local_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    monkeypatch.delenv("RSP_BUTLER_FILES_URL", raising=False)
    monkeypatch.delenv("RSP_BUTLER_SIGNING_KEY", raising=False)
    assert not load_config().signs_files


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "butler.yaml"
    path.write_text(
        yaml.safe_dump({"files_url": "http://other/files", "signing_key": "x" * 40})
    )
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    monkeypatch.setenv("RSP_BUTLER_FILES_URL", FILES_URL)
    config = load_config()
    assert config.signs_files
    assert str(config.files_url) == FILES_URL
    assert config.signing_key is not None
    assert config.signing_key.get_secret_value() == "x" * 40


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"files_url": FILES_URL}, "  (settings): Value error, files_url and"),
        ({"files_url": FILES_URL, "signing_key": "short"}, "  signing_key: "),
        ({"signing_url": FILES_URL}, "  signing_url: Extra inputs are not permitted"),
    ],
)
def test_wrong_settings_stop_start_up_with_their_name(
    values: dict[str, str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RSP_BUTLER_FILES_URL", raising=False)
    monkeypatch.delenv("RSP_BUTLER_SIGNING_KEY", raising=False)
    path = tmp_path / "butler.yaml"
    path.write_text(yaml.safe_dump(values))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    with pytest.raises(ConfigurationError) as error:
        load_config()
    assert str(error.value).startswith("invalid Butler server configuration:\n")
    assert expected in str(error.value)


def test_a_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigurationError, match=r"RSP_BUTLER_CONFIG_PATH.*absent"):
        load_config()
