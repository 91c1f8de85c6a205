"""``rsp-operator``: settings validated before kopf starts, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from click.testing import CliRunner
from optest.ingress_harness import DATA_DIR
from rsp_operator.cli import main
from rsp_operator.config import IngressFlavour, OperatorSettings


@pytest.fixture
def kopf_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``kopf.operator`` was started with (instead of starting it)."""
    calls: list[dict[str, Any]] = []

    async def operator(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(kopf, "operator", operator)
    return calls


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RSP_OPERATOR_CONFIG_PATH", "RSP_OPERATOR_INGRESS_FLAVOUR"):
        monkeypatch.delenv(name, raising=False)


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("env", "config", "expected"),
    [
        (
            {"RSP_OPERATOR_INGRESS_FLAVOUR": "traefik"},
            None,
            "ingress_flavour: Input should be 'nginx' or 'gateway-api'",
        ),
        (
            {
                "RSP_OPERATOR_INGRESS_FLAVOUR": "gateway-api",
                "RSP_OPERATOR_GATEWAY_URL": "http://10.0.0.7:8080",
            },
            None,
            "gateway_url: with ingress_flavour gateway-api it must name the"
            " gateway's Service",
        ),
        ({}, {"host": "data.lsst.cloud", "ingressClass": "nginx"}, "ingressClass"),
        ({}, {"gateway_api": {"gateway": "edge"}}, "gateway_api.gateway"),
        ({}, {"host": "Data_LSST"}, "host: String should match pattern"),
        ({}, {"resync_seconds": 0}, "resync_seconds: Input should be greater than 0"),
    ],
)
def test_bad_settings_stop_before_kopf(
    tmp_path: Path,
    kopf_calls: list[dict[str, Any]],
    env: dict[str, str],
    config: dict[str, Any] | None,
    expected: str,
) -> None:
    if config is not None:
        path = tmp_path / "operator.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**env, "RSP_OPERATOR_CONFIG_PATH": str(path)}
    result = _run(["run"], env)
    assert result.exit_code == 1
    assert "Error: invalid operator settings:" in result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert kopf_calls == []


def test_missing_settings_file(
    tmp_path: Path, kopf_calls: list[dict[str, Any]]
) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = _run(["run"], {"RSP_OPERATOR_CONFIG_PATH": str(missing)})
    assert result.exit_code == 1
    assert f"names missing file(s): {missing}" in result.output
    assert kopf_calls == []


def test_run_hands_the_settings_to_kopf(
    tmp_path: Path, kopf_calls: list[dict[str, Any]]
) -> None:
    path = tmp_path / "operator.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "host": "data-int.lsst.cloud",
                "ingress_flavour": "gateway-api",
                "namespaces": ["tap", "nublado"],
            }
        )
    )
    result = _run(["run", "--liveness", ""], {"RSP_OPERATOR_CONFIG_PATH": str(path)})
    assert result.exit_code == 0, result.output
    (call,) = kopf_calls
    settings = call["memo"]["settings"]
    assert isinstance(settings, OperatorSettings)
    assert settings.ingress_flavour is IngressFlavour.GATEWAY_API
    assert call["namespaces"] == ["tap", "nublado"]
    assert call["clusterwide"] is False
    assert call["standalone"] is True
    assert call["liveness_endpoint"] is None
    assert call["registry"] is kopf.get_default_registry()


def test_render_prints_the_objects_of_a_resource() -> None:
    result = _run(
        ["render", str(DATA_DIR / "tap.yaml")],
        {"RSP_OPERATOR_INGRESS_FLAVOUR": "gateway-api"},
    )
    assert result.exit_code == 0, result.output
    kinds = [
        (o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(result.output)
    ]
    assert kinds == [
        ("HTTPRoute", "tap"),
        ("SecurityPolicy", "tap"),
        ("HTTPRoute", "tap-anonymous"),
        ("SecurityPolicy", "tap-anonymous"),
    ]


def test_render_names_a_malformed_resource(tmp_path: Path) -> None:
    body = yaml.safe_load((DATA_DIR / "tap.yaml").read_text())
    body["spec"]["scopes"] = ["read:everything"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(body))
    result = _run(["render", str(path)], {})
    assert result.exit_code == 1
    assert "PlatformIngress tap: spec: route tap (/api/tap): unknown scopes" in (
        result.output
    )
