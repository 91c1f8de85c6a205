"""Configuration: YAML file, environment, refused unknown keys, consistency."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rsp_tap.cli import main
from rsp_tap.config import Config, GcsResultStorage, load_config
from rsp_tap.exceptions import ConfigurationError

BASE = {
    "RSP_TAP_DATABASE_URL": "postgresql+asyncpg://tap@db/tap",
    "RSP_TAP_QUERY_DATABASE_URL": "postgresql://tap_reader@db/tap",
}


def test_yaml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tap.yaml"
    path.write_text(
        "environment: idfint\n"
        "base_url: https://data-int.lsst.cloud\n"
        "maxrec_default: 1000\n"
        "result_storage:\n"
        "  type: gcs\n"
        "  bucket: rsp-tap-results\n"
        "  url_lifetime: 600\n"
    )
    monkeypatch.setenv("RSP_TAP_CONFIG_PATH", str(path))
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RSP_TAP_MAXREC_LIMIT", "2000")
    config = load_config()
    assert config.service_url == "https://data-int.lsst.cloud/api/tap"
    assert config.maxrec_default == 1000
    assert config.maxrec_limit == 2000
    assert isinstance(config.result_storage, GcsResultStorage)
    assert config.result_storage.url_lifetime.total_seconds() == 600


def test_unknown_keys_and_bad_values_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tap.yaml"
    path.write_text(
        "result_storage: {type: local, path: /tmp/r}\n"
        "maxrec_defualt: 5\n"
        "maxrec_limit: 10\n"
        "maxrec_default: 50\n"
    )
    monkeypatch.setenv("RSP_TAP_CONFIG_PATH", str(path))
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as error:
        load_config()
    assert "maxrec_defualt" in str(error.value)


def test_consistency_rules() -> None:
    values = {
        "database_url": "postgresql+asyncpg://tap@db/tap",
        "query_database_url": "postgresql://tap_reader@db/tap",
        "result_storage": {"type": "local", "path": "/tmp/r"},
    }
    assert Config(**values).maxrec_default == 100_000  # type: ignore[arg-type]
    for extra, message in (
        ({"maxrec_default": 10, "maxrec_limit": 5}, "maxrec_default"),
        ({"base_url": "https://host/path"}, "only scheme"),
        ({"default_user": "x", "environment": "idfprod"}, "default_user"),
        ({"sync_timeout": 0}, "sync_timeout"),
        ({"result_storage": {"type": "s3", "bucket": "b"}}, "result_storage"),
    ):
        with pytest.raises(ValueError, match=message):
            Config(**{**values, **extra})  # type: ignore[arg-type]


def test_start_up_errors_are_one_readable_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RSP_TAP_CONFIG_PATH", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigurationError, match=r"RSP_TAP_CONFIG_PATH.*absent\.yaml"):
        load_config()

    monkeypatch.delenv("RSP_TAP_CONFIG_PATH")
    result = CliRunner().invoke(main, ["check-job-store"])
    assert result.exit_code == 1
    assert "invalid TAP configuration:\n  result_storage: Field required" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
