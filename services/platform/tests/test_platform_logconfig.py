"""The shared logging set-up: renderers, levels, extra processors, streams."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from rsp_platform.logconfig import configure_logging
from structlog.typing import EventDict, WrappedLogger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging(level="INFO", json=False)


def _json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _shout(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    event_dict["event"] = str(event_dict["event"]).upper()
    return event_dict


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        structlog.get_logger("example").info("Hello", user="alice")
    (line,) = _json_lines(capsys.readouterr().out)
    assert line["event"] == "Hello"
    assert line["level"] == "info"
    assert line["user"] == "alice"
    assert line["request_id"] == "req-1"
    assert "timestamp" in line


def test_console_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=False)
    structlog.get_logger("example").warning("Hello", user="alice")
    output = capsys.readouterr().out
    assert "Hello" in output
    assert "user=alice" in output
    assert not output.lstrip().startswith("{")
    assert "\x1b[" not in output


def test_level_filters_structlog_and_stdlib(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="WARNING", json=True)
    logger = structlog.get_logger("example")
    logger.info("Quiet")
    logger.warning("Loud")
    logging.getLogger("example.stdlib").info("Quiet too")
    logging.getLogger("example.stdlib").error("Loud too")
    events = [line["event"] for line in _json_lines(capsys.readouterr().out)]
    assert events == ["Loud", "Loud too"]


def test_stdlib_records_rendered_alike(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    with structlog.contextvars.bound_contextvars(request_id="req-2"):
        logging.getLogger("uvicorn.error").warning("From uvicorn")
    (line,) = _json_lines(capsys.readouterr().out)
    assert line["event"] == "From uvicorn"
    assert line["logger"] == "uvicorn.error"
    assert line["level"] == "warning"
    assert line["request_id"] == "req-2"


def test_extra_processors_run_on_every_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json=True, processors=[_shout])
    structlog.get_logger("example").info("from structlog")
    logging.getLogger("example.stdlib").warning("from stdlib")
    events = [line["event"] for line in _json_lines(capsys.readouterr().out)]
    assert events == ["FROM STRUCTLOG", "FROM STDLIB"]


def test_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True, to_stderr=True)
    structlog.get_logger("example").info("To stderr")
    logging.getLogger("example.stdlib").info("Also to stderr")
    captured = capsys.readouterr()
    assert captured.out == ""
    events = [line["event"] for line in _json_lines(captured.err)]
    assert events == ["To stderr", "Also to stderr"]


def test_reconfiguring_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    configure_logging(level="INFO", json=True)
    logging.getLogger("example.stdlib").warning("Once")
    assert len(_json_lines(capsys.readouterr().out)) == 1


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown log level 'LOUD'"):
        configure_logging(level="LOUD", json=True)
