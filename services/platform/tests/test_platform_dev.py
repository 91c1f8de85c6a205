"""``make dev``: the files it keeps, and the real platform started and stopped."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
import yaml
from dev_platform import alive, descendants, http_get, running_platform
from rsp_platform.dev import (
    DEV_GROUP_SCOPES,
    DevEnvironment,
    bootstrap_token,
    gateway_config,
    generate_token,
    process_environment,
    procfile_text,
)

TOKEN_RE = re.compile(r"^gt-[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")


def test_generated_tokens_have_the_gateways_format() -> None:
    tokens = {generate_token() for _ in range(20)}
    assert len(tokens) == 20
    assert all(TOKEN_RE.match(t) for t in tokens)


def test_bootstrap_token_is_generated_once_and_private(tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    token, source = bootstrap_token(env, {})
    assert TOKEN_RE.match(token)
    assert source == str(tmp_path / "bootstrap-token")
    assert (tmp_path / "bootstrap-token").stat().st_mode & 0o777 == 0o600
    assert bootstrap_token(env, {}) == (token, source)


def test_bootstrap_token_from_the_environment(tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    given = generate_token()
    token, source = bootstrap_token(env, {"RSP_BOOTSTRAP_TOKEN": given})
    assert (token, source) == (given, "$RSP_BOOTSTRAP_TOKEN")
    assert not (tmp_path / "bootstrap-token").exists()
    environ = process_environment(env, token, {"PATH": "/bin"})
    assert environ["RSP_GATEWAY_BOOTSTRAP_TOKEN"] == given
    assert environ["RSP_GATEWAY_CONFIG_PATH"] == str(env.gateway_config.resolve())
    assert environ["PATH"] == "/bin"


def test_gateway_config_keeps_its_secrets(tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path, port=8123)
    first = gateway_config(env)
    second = gateway_config(DevEnvironment(state_dir=tmp_path, port=9000))
    assert first["session_secret"] == second["session_secret"]
    assert first["token_hash_key"] == second["token_hash_key"]
    assert len(str(first["session_secret"])) >= 32
    assert len(str(first["token_hash_key"])) >= 32
    for name in ("session-secret", "token-hash-key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert first["environment"] == "local"
    assert first["base_url"] == "http://localhost:8123"
    assert first["dev_login"] is True
    assert first["log_json"] is False
    assert (
        first["database_url"] == f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    )
    assert "redis_url" not in first


def test_group_mapping_gives_users_and_admins_their_scopes(tmp_path: Path) -> None:
    mapping = gateway_config(DevEnvironment(state_dir=tmp_path))["group_mapping"]
    assert isinstance(mapping, dict)
    users = {s for s, groups in mapping.items() if "g_users" in groups}
    admins = {s for s, groups in mapping.items() if "g_admins" in groups}
    assert users == {
        "exec:notebook",
        "exec:portal",
        "read:tap",
        "read:image",
        "user:token",
    }
    assert admins == users | {
        "admin:token",
        "admin:userinfo",
        "admin:jupyterlab",
        "exec:admin",
    }
    assert set(DEV_GROUP_SCOPES) == {"g_users", "g_admins"}


def test_procfile_runs_gateway_and_nginx_in_the_foreground(tmp_path: Path) -> None:
    if shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        pytest.skip(
            "nginx is not installed (scripts/bootstrap.sh installs it when root)"
        )
    env = DevEnvironment(state_dir=tmp_path, port=8123, gateway_port=8124)
    lines = procfile_text(env).splitlines()
    assert lines[0].startswith("gateway: exec ")
    assert lines[0].endswith(
        "uvicorn rsp_gateway.main:create_app --factory --host 127.0.0.1 --port 8124"
    )
    assert lines[1].startswith("ingress: exec ")
    assert f"-c {(tmp_path / 'nginx' / 'nginx.conf').resolve()}" in lines[1]


def test_make_dev_runs_and_stops_cleanly(tmp_path: Path) -> None:
    if shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        pytest.skip(
            "nginx is not installed (scripts/bootstrap.sh installs it when root)"
        )
    with running_platform(tmp_path) as platform:
        process, port, log = platform.process, platform.port, platform.log
        status, body = http_get(port, "/login")
        assert status == 200, body
        assert http_get(port, "/ingress/auth")[0] == 404
        assert http_get(port, "/ingress/anonymous")[0] == 404
        # TAP on the local catalog: capabilities are anonymous, queries are not.
        deadline = time.monotonic() + 60
        while http_get(port, "/api/tap/availability")[0] != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        status, body = http_get(port, "/api/tap/capabilities")
        assert status == 200
        assert "ivo://ivoa.net/std/TAP" in body
        assert http_get(port, "/api/tap/sync?LANG=ADQL&QUERY=SELECT+1")[0] == 401
        token = (tmp_path / ".dev" / "bootstrap-token").read_text().strip()
        assert TOKEN_RE.match(token)
        config = yaml.safe_load((tmp_path / ".dev" / "gateway.yaml").read_text())
        assert config["base_url"] == f"http://localhost:{port}"
        assert (tmp_path / ".dev" / "gateway.sqlite3").exists()
        assert (tmp_path / ".dev" / "nginx" / "nginx.pid").exists()
        children = descendants(process.pid)
        assert len(children) >= 3  # gateway, nginx master and worker at least
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], log.read_text()
    assert "The platform runs at" in log.read_text()
