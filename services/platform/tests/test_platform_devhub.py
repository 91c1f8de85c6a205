"""``make dev``'s notebooks: the hub's settings, variables and Procfile line."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from rsp_platform.dev import DevEnvironment, procfile_text
from rsp_platform.devhub import (
    NOTEBOOKS_SERVICE,
    find_proxy,
    hub_environment,
    hub_settings,
    write_hub_settings,
)


def test_hub_settings_for_the_local_platform(tmp_path: Path) -> None:
    env = DevEnvironment(
        state_dir=tmp_path,
        port=8123,
        gateway_port=8124,
        service_ports={NOTEBOOKS_SERVICE: 8125, "repertoire": 8126},
    )
    settings = hub_settings(env, hub_port=8127, proxy_api_port=8128)
    assert settings["mode"] == "local"
    assert settings["instance_url"] == "http://localhost:8123"
    assert settings["gateway_url"] == "http://127.0.0.1:8124"
    assert settings["public_url"] == "http://127.0.0.1:8125"
    assert settings["hub_bind_url"] == "http://127.0.0.1:8127"
    assert settings["proxy_api_url"] == "http://127.0.0.1:8128"
    assert settings["discovery_url"] == ("http://127.0.0.1:8126/repertoire/discovery")
    assert settings["homes_dir"] == str(tmp_path.resolve() / "homes")
    assert settings["cleanup_servers"] is True
    # The proxy is a Procfile process of its own, not the hub's child.
    assert settings["proxy_command"] == []
    # The nginx of make dev sends /nb to the hub's proxy.
    assert env.nginx_settings().upstreams[NOTEBOOKS_SERVICE] == "127.0.0.1:8125"


def test_settings_file_and_kept_encryption_key(tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    path = write_hub_settings(env)
    assert yaml.safe_load(path.read_text())["mode"] == "local"
    first = hub_environment(env)
    assert first["RSP_NOTEBOOKS_CONFIG_PATH"] == str(path)
    assert len(first["JUPYTERHUB_CRYPT_KEY"]) == 44  # 32 bytes, base64
    assert (tmp_path / "hub-crypt-key").stat().st_mode & 0o777 == 0o600
    assert len(first["CONFIGPROXY_AUTH_TOKEN"]) >= 43
    assert (tmp_path / "proxy-auth-token").stat().st_mode & 0o777 == 0o600
    assert len(first["RSP_NOTEBOOKS_CULLER_API_TOKEN"]) >= 43
    assert (tmp_path / "culler-api-token").stat().st_mode & 0o777 == 0o600
    assert hub_environment(env) == first


def test_procfile_runs_the_hub(tmp_path: Path) -> None:
    lines = procfile_text(DevEnvironment(state_dir=tmp_path)).splitlines()
    hub = [line for line in lines if line.startswith("hub:")]
    assert len(hub) == 1
    assert hub[0].endswith("/rsp-hub")


def test_procfile_runs_the_proxy_on_the_hubs_ports(tmp_path: Path) -> None:
    env = DevEnvironment(
        state_dir=tmp_path, service_ports={NOTEBOOKS_SERVICE: 8125, "repertoire": 8126}
    )
    settings = yaml.safe_load(write_hub_settings(env).read_text())
    lines = procfile_text(env).splitlines()
    (proxy,) = [line for line in lines if line.startswith("hub-proxy:")]
    words = shlex.split(proxy.removeprefix("hub-proxy:"))
    assert words[:2] == ["exec", str(find_proxy())]
    options = dict(zip(words[2::2], words[3::2], strict=True))
    api = urlsplit(settings["proxy_api_url"])
    assert options == {
        "--ip": "127.0.0.1",
        "--port": "8125",
        "--api-ip": "127.0.0.1",
        "--api-port": str(api.port),
        "--error-target": f"{settings['hub_bind_url']}/nb/hub/error",
        "--log-level": "warn",
    }


def test_procfile_runs_the_culler_apart_with_its_token(tmp_path: Path) -> None:
    env = DevEnvironment(state_dir=tmp_path)
    write_hub_settings(env)
    lines = procfile_text(env).splitlines()
    (culler,) = [line for line in lines if line.startswith("hub-culler:")]
    words = shlex.split(culler.removeprefix("hub-culler:"))
    assert words == ["exec", sys.executable, "-m", "rsp_notebooks.culler"]
    # No secret on a command line: the token comes from the environment.
    token = hub_environment(env)["RSP_NOTEBOOKS_CULLER_API_TOKEN"]
    assert token not in procfile_text(env)
