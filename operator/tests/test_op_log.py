"""The operator's logs: the platform's structlog set-up, kopf's records too."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
import structlog
import yaml
from click.testing import CliRunner
from optest.ingress_harness import operator_settings
from rsp_operator.cli import main
from rsp_operator.log import configure_operator_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_json_lines_from_structlog_and_kopf(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_operator_logging(operator_settings(log_json=True, log_level="INFO"))
    structlog.get_logger("rsp_operator.tokens").info("Rotated", token="key")
    structlog.get_logger("rsp_operator.tokens").debug("Not shown")
    ref = {"kind": "PlatformIngress", "namespace": "tap", "name": "tap"}
    logging.getLogger("kopf.objects").info(
        "Handler succeeded", extra={"k8s_ref": ref, "k8s_skip": True}
    )
    logging.getLogger("kopf.activities").debug("Not shown either")

    mine, kopfs = _lines(capsys.readouterr().out)
    assert mine["event"] == "Rotated"
    assert mine["level"] == "info"
    assert mine["token"] == "key"
    assert "timestamp" in mine
    assert kopfs["event"] == "Handler succeeded"
    assert kopfs["logger"] == "kopf.objects"
    assert kopfs["namespace"] == "tap"
    assert kopfs["name"] == "tap"
    assert kopfs["kind"] == "PlatformIngress"


def test_console_lines_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_operator_logging(operator_settings(log_json=False, log_level="WARNING"))
    structlog.get_logger("rsp_operator").info("Quiet")
    structlog.get_logger("rsp_operator").warning("Loud", name="tap")
    logging.getLogger("kopf").warning("Kopf loud")
    out = capsys.readouterr().out
    assert "Quiet" not in out
    assert "Loud" in out
    assert "Kopf loud" in out
    assert _lines(out) == []


def test_run_configures_logging_before_kopf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels: list[int] = []

    async def operator(**_: Any) -> None:
        levels.append(logging.getLogger().level)
        structlog.get_logger("rsp_operator").warning("Started")

    monkeypatch.setattr(kopf, "operator", operator)
    path = tmp_path / "operator.yaml"
    path.write_text(yaml.safe_dump({"log_level": "WARNING", "log_json": True}))
    result = CliRunner().invoke(
        main,
        ["run", "--liveness", ""],
        env={"RSP_OPERATOR_CONFIG_PATH": str(path)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert levels == [logging.WARNING]
    (line,) = _lines(result.output)
    assert line["event"] == "Started"
