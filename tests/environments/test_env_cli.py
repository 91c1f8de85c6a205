"""``rsp-platform env``: each command, and each problem lint must catch."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from rsp_platform.cli import main
from rsp_platform.environments.checks import CHECKS
from rsp_platform.environments.layout import PlatformLayout

from tests.environments.support import ENVIRONMENTS, LAYOUT, copy_checkout

pytestmark = pytest.mark.helm

ROOT = LAYOUT.charts_dir.parent


def _run(*args: str, root: Path = ROOT) -> Result:
    return CliRunner().invoke(main, ["env", "--root", str(root), *args])


@pytest.fixture
def checkout(tmp_path: Path) -> PlatformLayout:
    """A copy of the checkout that a test may break."""
    return copy_checkout(tmp_path)


def _edit_environment(layout: PlatformLayout, name: str, **changes: object) -> None:
    path = layout.environments_dir / f"values-{name}.yaml"
    values = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path.write_text(yaml.safe_dump(values))


def test_list_names_every_environment_with_its_host() -> None:
    result = _run("list")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert lines == [
        ["idfdev", "data-dev.lsst.cloud"],
        ["idfint", "data-int.lsst.cloud"],
        ["idfprod", "data.lsst.cloud"],
        ["local", "localhost"],
    ]


def test_services_shows_what_runs_where(checkout: PlatformLayout) -> None:
    result = _run("services", "idfprod")
    assert result.exit_code == 0, result.output
    assert "tap        enabled   tap" in result.output
    _edit_environment(checkout, "local", butler__enabled=False)
    result = _run("services", "local", root=checkout.charts_dir.parent)
    assert "butler     disabled  butler" in result.output
    assert "gateway    enabled   gateway" in result.output


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_good_environments_lint_clean(name: str) -> None:
    result = _run("lint", name)
    assert result.exit_code == 0, result.output
    assert result.output == f"{name}: ok ({', '.join(CHECKS)})\n"


def test_lint_all_lints_every_environment() -> None:
    result = _run("lint", "--all")
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines()] == ENVIRONMENTS


def test_lint_catches_an_unknown_key(checkout: PlatformLayout) -> None:
    _edit_environment(checkout, "idfint", tls__certManager__issuer="letsencrypt")
    result = _run("lint", "--all", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfint: [values] tls.certManager.issuer: Extra inputs are not permitted"
        in (result.output)
    )
    assert "idfprod: ok" in result.output
    assert "1 of 4 environment(s) have problems" in result.output


def test_lint_catches_a_service_key_unknown_to_its_chart(
    checkout: PlatformLayout,
) -> None:
    _edit_environment(checkout, "idfdev", tap__resultStorage__bucketName="x")
    result = _run("lint", "idfdev", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert "idfdev: [helm]" in result.output
    assert "bucketName" in result.output


def test_lint_catches_an_enabled_service_without_a_chart(
    checkout: PlatformLayout,
) -> None:
    for path in sorted((checkout.charts_dir / "butler").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (checkout.charts_dir / "butler").rmdir()
    result = _run("lint", "idfprod", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert "idfprod: [charts] butler is enabled, but" in result.output
    assert "has no Chart.yaml" in result.output
    # Disabled (and so not listed by discovery), the missing chart is no problem.
    _edit_environment(
        checkout,
        "local",
        butler__enabled=False,
        discovery__config__enabledServices=["gateway", "repertoire", "nublado", "tap"],
    )
    result = _run("lint", "local", root=checkout.charts_dir.parent)
    assert result.exit_code == 0, result.output


def test_lint_catches_discovery_listing_what_does_not_run(
    checkout: PlatformLayout,
) -> None:
    _edit_environment(checkout, "idfdev", tap__enabled=False)
    _edit_environment(
        checkout,
        "idfint",
        discovery__config__enabledServices=[
            "gateway",
            "repertoire",
            "nublado",
            "tap",
            "portal",
        ],
    )
    result = _run("lint", "--all", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfdev: [discovery] discovery.config.enabledServices lists tap, which"
        " does not run"
    ) in result.output
    assert (
        "idfint: [discovery] discovery.config.enabledServices lists portal, which"
        " does not run"
    ) in result.output
    assert (
        "idfint: [discovery] discovery.config.enabledServices leaves out butler,"
        " which runs"
    ) in result.output


def test_lint_catches_a_repeated_default(checkout: PlatformLayout) -> None:
    _edit_environment(
        checkout,
        "idfint",
        tap__config__maxrecDefault=100000,
        tls__certManager__issuerKind="ClusterIssuer",
        operator__enabled=True,
    )
    result = _run("lint", "idfint", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    for where in ("tap.config.maxrecDefault", "tls.certManager.issuerKind"):
        assert f"idfint: [minimal] {where}: repeats the default" in result.output
    assert "operator.enabled" in result.output


def test_lint_catches_a_route_without_scopes(checkout: PlatformLayout) -> None:
    template = checkout.charts_dir / "tap" / "templates" / "open-route.yaml"
    template.write_text(
        "apiVersion: science-platform.dev/v1alpha1\n"
        "kind: PlatformIngress\n"
        "metadata:\n"
        "  name: tap-open\n"
        "  namespace: {{ .Values.namespaceOverride | default .Release.Namespace }}\n"
        "spec:\n"
        "  path: /api/tap/open\n"
        "  backend: {service: tap, port: 8080}\n"
    )
    result = _run("lint", "idfprod", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfprod: [routes] PlatformIngress/tap-open in tap: route /api/tap/open has"
        " access scopes and no scope"
    ) in result.output


def test_lint_catches_a_secret_value(checkout: PlatformLayout) -> None:
    _edit_environment(
        checkout, "idfprod", gateway__github__clientSecret="0123456789abcdef0123"
    )
    _edit_environment(
        checkout,
        "idfint",
        notebooks__config__gatewayUrl="http://bot:hunter2hunter2@gateway:8080",
    )
    result = _run("lint", "--all", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfprod: [secrets] values: gateway.github.clientSecret: value under a"
        " secret-sounding name"
    ) in result.output
    assert (
        "idfint: [secrets] values: notebooks.config.gatewayUrl: looks like a"
        " password in URL"
    ) in result.output
    assert "hunter2" not in result.output
    assert "0123456789abcdef0123" not in result.output


def test_lint_catches_a_hook_that_needs_a_later_secret(
    checkout: PlatformLayout,
) -> None:
    template = checkout.charts_dir / "gateway" / "templates" / "externalsecret.yaml"
    text = template.read_text()
    hook = "    helm.sh/hook: pre-install,pre-upgrade\n"
    assert hook in text
    template.write_text(text.replace(hook, ""))
    result = _run("lint", "idfprod", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfprod: [install-order] Job/gateway-migrate in gateway reads Secret"
        " gateway, which ExternalSecret/gateway makes only after the hook"
    ) in result.output


def test_lint_catches_charts_that_do_not_follow_the_flavour(
    checkout: PlatformLayout,
) -> None:
    _edit_environment(
        checkout,
        "idfdev",
        global__ingressFlavour="gateway-api",
        tls__certManager__namespace="gateway-system",
        tap__networkPolicy__envoyProxy={"namespace": "envoy"},
    )
    result = _run("lint", "idfdev", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "idfdev: [ingress] Service tap in tap (PlatformIngress/tap): no"
        " NetworkPolicy admits the proxy pods in envoy-gateway-system"
    )
    assert len(lines) == 2, result.output  # and the summary


def test_lint_catches_a_certificate_where_tls_does_not_end(
    checkout: PlatformLayout,
) -> None:
    _edit_environment(checkout, "idfint", global__ingressFlavour="gateway-api")
    result = _run("lint", "idfint", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "idfint: [tls] tls.certManager.namespace is ingress-nginx, but TLS ends"
        " in the Gateway's namespace (gateway-system)"
    )


def test_lint_catches_a_file_named_for_another_environment(
    checkout: PlatformLayout,
) -> None:
    _edit_environment(checkout, "idfdev", global__environment="idfint")
    result = _run("lint", "idfdev", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert (
        "idfdev: [values] global.environment is 'idfint', but the file is"
        " values-idfdev.yaml"
    ) in result.output


def test_lint_all_reports_an_unreadable_file_and_goes_on(
    checkout: PlatformLayout,
) -> None:
    (checkout.environments_dir / "values-broken.yaml").write_text("- a list\n")
    result = _run("lint", "--all", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert "broken: [values]" in result.output
    assert "values must be a mapping, not list" in result.output
    assert "idfprod: ok" in result.output
    assert "1 of 5 environment(s) have problems" in result.output


def test_lint_needs_a_name_or_all() -> None:
    assert _run("lint").exit_code == 2
    assert _run("lint", "idfprod", "--all").exit_code == 2


def test_unknown_environment_is_named() -> None:
    result = _run("lint", "idfstaging")
    assert result.exit_code == 1
    assert "no environment 'idfstaging'" in result.output
    assert "(environments: idfdev, idfint, idfprod, local)" in result.output


def test_render_prints_the_objects() -> None:
    result = _run("render", "idfprod")
    assert result.exit_code == 0, result.output
    objects = [o for o in yaml.safe_load_all(result.output) if o]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "ExternalSecret", "Certificate", "PlatformIngress"} <= kinds


def test_render_writes_one_file_per_object(tmp_path: Path) -> None:
    result = _run("render", "local", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    gateway = yaml.safe_load(
        (tmp_path / "out/gateway/deployment-gateway.yaml").read_text()
    )
    assert gateway["metadata"]["namespace"] == "gateway"
    assert (tmp_path / "out/_cluster/namespace-tap.yaml").is_file()
    count = int(result.output.split()[1])
    assert count == len(list((tmp_path / "out").rglob("*.yaml")))


def test_render_refuses_invalid_values(checkout: PlatformLayout) -> None:
    _edit_environment(checkout, "local", global__imageTag="latest")
    result = _run("render", "local", root=checkout.charts_dir.parent)
    assert result.exit_code == 1
    assert "values-local.yaml is invalid" in result.output
    assert "global.imageTag" in result.output


def test_a_failing_template_is_reported_without_a_traceback(
    checkout: PlatformLayout,
) -> None:
    broken = checkout.charts_dir / "tap" / "templates" / "broken.yaml"
    broken.write_text('{{ fail "the bucket is not configured" }}\n')
    root = checkout.charts_dir.parent
    for command in (["render", "idfprod"], ["lint", "idfprod"]):
        result = _run(*command, root=root)
        assert result.exit_code == 1
        assert "the bucket is not configured" in result.output
        assert "rsp-umbrella-" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_schema_check_finds_drift(checkout: PlatformLayout) -> None:
    assert _run("schema", "--check").output == "schemas are current\n"
    (checkout.environments_dir / "values.schema.json").write_text("{}\n")
    root = checkout.charts_dir.parent
    result = _run("schema", "--check", root=root)
    assert result.exit_code == 1
    assert "values.schema.json" in result.output
    assert _run("schema", root=root).exit_code == 0
    assert _run("schema", "--check", root=root).exit_code == 0
