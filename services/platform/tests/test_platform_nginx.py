"""The local ingress: generated nginx configuration and the real nginx running it.

Set ``RSP_UPDATE_GOLDEN=1`` to rewrite the golden configuration after an
intended change of the route table or the template.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from platform_stubs import (
    GOOD_TOKEN,
    SESSION_COOKIE,
    WEAK_TOKEN,
    Recorded,
    free_port,
    serve_stub_gateway,
    serve_stub_service,
)
from rsp_platform.cli import main
from rsp_platform.nginx import (
    NginxError,
    NginxSettings,
    check_nginx_config,
    default_worker_user,
    nginx_command,
    render_nginx_config,
    write_nginx_config,
)
from rsp_platform.routes import ROUTE_TABLE, RouteTableError

GOLDEN = Path(__file__).parent / "data" / "nginx.conf"
ALL = frozenset(s.name for s in ROUTE_TABLE.services)

requires_nginx = pytest.mark.skipif(
    shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None,
    reason="nginx is not installed (scripts/bootstrap.sh installs it when root)",
)


def _golden_settings() -> NginxSettings:
    return NginxSettings(prefix=Path("/srv/platform/.dev/nginx"), enabled=ALL)


def test_golden_config() -> None:
    rendered = render_nginx_config(_golden_settings())
    if os.environ.get("RSP_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text(), (
        "generated nginx configuration changed; if intended, rerun with "
        "RSP_UPDATE_GOLDEN=1"
    )


def test_only_enabled_services_are_routed() -> None:
    rendered = render_nginx_config(NginxSettings(prefix=Path("/x")))
    assert "location = /login {" in rendered
    assert "location /portal" not in rendered
    assert "service_portal" not in rendered
    # Without a landing page, whatever is not routed is not found.
    assert "location / {\n            return 404;" in rendered


def test_gateway_must_be_enabled() -> None:
    with pytest.raises(RouteTableError, match="gateway must be enabled"):
        render_nginx_config(NginxSettings(prefix=Path("/x"), enabled={"tap"}))


def test_upstream_overrides_and_listen_hosts() -> None:
    settings = NginxSettings(
        prefix=Path("/x"),
        port=8123,
        listen_hosts=("127.0.0.1", "[::1]"),
        upstreams={"gateway": "127.0.0.1:9999"},
        worker_user="nobody nogroup",
    )
    rendered = render_nginx_config(settings)
    assert "listen 127.0.0.1:8123;" in rendered
    assert "listen [::1]:8123;" in rendered
    assert "server 127.0.0.1:9999;" in rendered
    assert rendered.count("\nuser nobody nogroup;\n") == 1


@requires_nginx
@pytest.mark.parametrize("enabled", [ALL, frozenset({"gateway"})])
def test_nginx_accepts_the_config(tmp_path: Path, enabled: frozenset[str]) -> None:
    settings = NginxSettings(
        prefix=tmp_path / "nginx", enabled=enabled, worker_user=default_worker_user()
    )
    write_nginx_config(settings)
    check_nginx_config(settings)
    assert (tmp_path / "nginx" / "tmp" / "proxy").is_dir()


@requires_nginx
def test_nginx_refusal_is_reported(tmp_path: Path) -> None:
    settings = NginxSettings(prefix=tmp_path, modules_dir=tmp_path / "missing")
    write_nginx_config(settings)
    with pytest.raises(NginxError, match="nginx refuses"):
        check_nginx_config(settings)


@dataclass
class Ingress:
    """A running nginx with the stub gateway and stub service behind it."""

    port: int
    gateway: Recorded
    service: Recorded

    def request(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> tuple[int, dict[str, list[str]], bytes]:
        """Send one request; status, headers (lower-case, all values), body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            answer: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                answer.setdefault(name.lower(), []).append(value)
            return response.status, answer, response.read()
        finally:
            conn.close()

    def upstream_headers(self, path: str, **kwargs: object) -> dict[str, str]:
        """Headers the service saw for a request that must pass."""
        status, _, body = self.request(path, **kwargs)  # type: ignore[arg-type]
        assert status == 200, body
        seen: dict[str, str] = json.loads(body)["headers"]
        return seen


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {process.stderr.read() if process.stderr else ''!r}"
            )
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise TimeoutError(f"nginx did not listen on {port}")


@pytest.fixture(scope="module")
def ingress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingress]:
    if shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        pytest.skip("nginx is not installed (scripts/bootstrap.sh installs it as root)")
    gateway_port, service_port, port = free_port(), free_port(), free_port()
    upstream = f"127.0.0.1:{service_port}"
    settings = NginxSettings(
        prefix=tmp_path_factory.mktemp("ingress") / "nginx",
        port=port,
        enabled={"gateway", "tap", "nublado"},
        upstreams={
            "gateway": f"127.0.0.1:{gateway_port}",
            "tap": upstream,
            "nublado": upstream,
        },
        worker_user=default_worker_user(),
    )
    write_nginx_config(settings)
    with (
        serve_stub_gateway(gateway_port) as gateway,
        serve_stub_service(service_port) as service,
    ):
        process = subprocess.Popen(nginx_command(settings), stderr=subprocess.PIPE)
        try:
            _wait_for_port(port, process)
            yield Ingress(port=port, gateway=gateway, service=service)
        finally:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()


def test_valid_token_passes_with_identity_from_the_gateway(ingress: Ingress) -> None:
    seen = ingress.upstream_headers(
        "/api/tap/sync?QUERY=SELECT%201",
        headers={"Authorization": f"Bearer {GOOD_TOKEN}"},
    )
    assert seen["x-auth-request-user"] == "alice"
    assert seen["x-auth-request-email"] == "alice@example.org"
    assert seen["x-auth-request-service"] == "tap"
    assert seen["x-auth-request-token"] == "gt-delegated.token"
    # The gateway answered without Authorization: the token stays with it.
    assert "authorization" not in seen
    path, asked = ingress.gateway.last("/ingress/auth")
    assert path == (
        "/ingress/auth?scope=read:tap&satisfy=all&delegate_to=tap"
        "&delegate_scope=read:tap&auth_type=basic"
    )
    assert (
        asked["x-original-url"]
        == f"http://127.0.0.1:{ingress.port}/api/tap/sync?QUERY=SELECT%201"
    )
    assert asked["x-original-method"] == "GET"
    assert asked["x-forwarded-for"] == "127.0.0.1"
    assert asked["x-forwarded-proto"] == "http"
    assert asked["x-forwarded-host"] == f"127.0.0.1:{ingress.port}"
    assert asked["authorization"] == f"Bearer {GOOD_TOKEN}"


def test_client_identity_headers_never_reach_a_service(ingress: Ingress) -> None:
    forged = {
        "X-Auth-Request-User": "mallory",
        "X-Auth-Request-Email": "mallory@evil.example",
        "X-Auth-Request-Service": "tap",
        "X-Auth-Request-Token": "gt-forged.token",
    }
    with_token = ingress.upstream_headers(
        "/api/tap/sync", headers={**forged, "Authorization": f"Bearer {GOOD_TOKEN}"}
    )
    assert with_token["x-auth-request-user"] == "alice"
    assert with_token["x-auth-request-token"] == "gt-delegated.token"
    anonymous = ingress.upstream_headers("/api/tap/availability", headers=forged)
    self_authenticated = ingress.upstream_headers(
        "/auth/api/v1/user-info", headers=forged
    )
    for seen in (anonymous, self_authenticated):
        assert not any(name.startswith("x-auth-request-") for name in seen), seen


def test_gateway_cookie_is_stripped(ingress: Ingress) -> None:
    seen = ingress.upstream_headers(
        "/nb/hub/home",
        headers={"Cookie": f"{SESSION_COOKIE}=valid-session; _xsrf=abc; theme=dark"},
    )
    assert seen["x-auth-request-user"] == "alice"
    assert seen["x-auth-request-token"] == "gt-notebook.token"
    assert seen["cookie"] == "_xsrf=abc; theme=dark"
    only_session = ingress.upstream_headers(
        "/nb/hub/home", headers={"Cookie": f"{SESSION_COOKIE}=valid-session"}
    )
    assert "cookie" not in only_session


def test_foreign_authorization_is_passed_when_the_gateway_says_so(
    ingress: Ingress,
) -> None:
    seen = ingress.upstream_headers(
        "/api/tap/availability", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert seen["authorization"] == "Basic dXNlcjpwYXNz"
    stripped = ingress.upstream_headers(
        "/api/tap/availability", headers={"Authorization": f"Bearer {GOOD_TOKEN}"}
    )
    assert "authorization" not in stripped


def test_browser_route_redirects_to_login(ingress: Ingress) -> None:
    status, headers, _ = ingress.request("/nb/hub/spawn?image=a&size=small")
    assert status == 302
    original = f"http://127.0.0.1:{ingress.port}/nb/hub/spawn?image=a&size=small"
    assert headers["location"] == [f"/login?rd={quote(original, safe='')}"]


def test_api_route_answers_401_with_the_gateways_challenge(ingress: Ingress) -> None:
    status, headers, body = ingress.request("/api/tap/tables/unauthenticated")
    assert status == 401
    assert headers["www-authenticate"] == ['Basic realm="stub"']
    assert headers["x-error-status"] == ["401"]
    assert json.loads(body) == {"detail": [{"msg": "authentication required"}]}
    assert "/api/tap/tables/unauthenticated" not in ingress.service.paths()


def test_missing_scope_answers_403_with_the_gateways_challenge(
    ingress: Ingress,
) -> None:
    status, headers, body = ingress.request(
        "/nb/user/bob/lab", headers={"Authorization": f"Bearer {WEAK_TOKEN}"}
    )
    assert status == 403
    assert headers["www-authenticate"] == [
        'Bearer realm="stub", error="insufficient_scope"'
    ]
    assert json.loads(body) == {"detail": [{"msg": "scope missing"}]}
    assert "/nb/user/bob/lab" not in ingress.service.paths()


@pytest.mark.parametrize(
    "path",
    [
        "/ingress/auth",
        "/ingress/auth?scope=read:tap",
        "/ingress/anonymous",
        "/ingress",
        "//ingress/auth",
        "/%69ngress/auth",
        "/auth/../ingress/auth",
        "/_auth/tap",
        "/api/butler/configs/repositories.yaml",
    ],
)
def test_internal_and_unrouted_paths_are_not_found(ingress: Ingress, path: str) -> None:
    before = len(ingress.gateway.paths())
    status, _, _ = ingress.request(
        path, headers={"Authorization": f"Bearer {GOOD_TOKEN}"}
    )
    assert status == 404
    assert len(ingress.gateway.paths()) == before


def test_anonymous_paths_pass_without_credentials(ingress: Ingress) -> None:
    for path in ("/api/tap/availability", "/api/tap/capabilities"):
        seen = ingress.upstream_headers(path)
        assert "x-auth-request-user" not in seen
        assert ingress.gateway.last("/ingress/")[0] == "/ingress/anonymous"
    status, _, _ = ingress.request("/api/tap/capabilities/more")
    assert status == 401


def test_self_authenticated_routes_keep_their_credentials(ingress: Ingress) -> None:
    cookie = f"{SESSION_COOKIE}=valid-session"
    seen = ingress.upstream_headers(
        "/auth/tokens",
        headers={"Cookie": cookie, "Authorization": f"Bearer {GOOD_TOKEN}"},
    )
    assert seen["cookie"] == cookie
    assert seen["authorization"] == f"Bearer {GOOD_TOKEN}"
    assert seen["host"] == f"127.0.0.1:{ingress.port}"
    assert ingress.gateway.last()[0] == "/auth/tokens"


def test_request_body_reaches_the_service_only(ingress: Ingress) -> None:
    status, _, body = ingress.request(
        "/api/tap/async",
        method="POST",
        body=b"QUERY=SELECT+1",
        headers={"Authorization": f"Bearer {GOOD_TOKEN}", "Content-Type": "text/plain"},
    )
    assert status == 200
    assert json.loads(body)["body"] == "QUERY=SELECT+1"
    assert "content-length" not in ingress.gateway.last("/ingress/auth")[1]


def test_websocket_upgrade_on_notebook_routes_only(ingress: Ingress) -> None:
    upgrade = {
        "Authorization": f"Bearer {GOOD_TOKEN}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
    }
    lab = ingress.upstream_headers("/nb/user/alice/api/kernels", headers=upgrade)
    assert lab["upgrade"] == "websocket"
    assert lab["connection"] == "upgrade"
    tap = ingress.upstream_headers("/api/tap/sync", headers=upgrade)
    assert "upgrade" not in tap


def test_cli_prints_the_config() -> None:
    result = CliRunner().invoke(
        main, ["nginx", "--stdout", "--port", "8123", "--enable", "tap"]
    )
    assert result.exit_code == 0, result.output
    assert "listen 127.0.0.1:8123;" in result.output
    assert "location /api/tap/ {" in result.output


@requires_nginx
def test_cli_writes_and_checks_the_config(tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    result = CliRunner().invoke(main, ["nginx", "--prefix", str(prefix), "--check"])
    assert result.exit_code == 0, result.output
    assert (prefix / "nginx.conf").is_file()
    bad = CliRunner().invoke(main, ["nginx", "--stdout", "--enable", "nope"])
    assert bad.exit_code == 1
    assert "unknown service 'nope'" in bad.output


def test_cors_preflight_reaches_the_gateway_as_such(ingress: Ingress) -> None:
    origin = f"http://127.0.0.1:{ingress.port}"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    status, _, body = ingress.request(
        "/api/tap/async", method="OPTIONS", headers=preflight
    )
    assert status == 200
    assert json.loads(body)["method"] == "OPTIONS"
    _, asked = ingress.gateway.last("/ingress/auth")
    assert asked["x-original-method"] == "OPTIONS"
    assert asked["origin"] == origin
    assert asked["access-control-request-method"] == "POST"
    foreign = {**preflight, "Origin": "https://evil.example"}
    status, _, _ = ingress.request("/api/tap/async", method="OPTIONS", headers=foreign)
    assert status == 401
