"""Stand-ins for the gateway and a service, to test the real nginx between them.

The stub gateway answers ``/ingress/auth`` and ``/ingress/anonymous`` the way
the ingress auth contract says (with two fixed tokens) and serves its own
routes by echoing; the stub service echoes every request it receives. Both
record what they saw so tests can check what nginx passed on.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "GOOD_TOKEN",
    "SESSION_COOKIE",
    "WEAK_TOKEN",
    "Recorded",
    "free_port",
    "serve_stub_gateway",
    "serve_stub_service",
]

GOOD_TOKEN = "gt-goodkey.goodsecret"
"""A token of user ``alice`` with ``read:tap`` and ``exec:notebook``."""

WEAK_TOKEN = "gt-weakkey.weaksecret"
"""A token of user ``bob`` without any scope."""

SESSION_COOKIE = "rsp_session"
"""Name of the gateway's session cookie (a session holds ``GOOD_TOKEN``)."""

_TOKENS = {
    GOOD_TOKEN: ("alice", {"read:tap", "exec:notebook"}),
    WEAK_TOKEN: ("bob", set()),
}


@dataclass
class Recorded:
    """Requests a stub received: path with query, and headers (lower-case)."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, headers: dict[str, str]) -> None:
        """Record one request."""
        with self.lock:
            self.requests.append((path, headers))

    def paths(self) -> list[str]:
        """Every recorded path."""
        with self.lock:
            return [p for p, _ in self.requests]

    def last(self, prefix: str = "") -> tuple[str, dict[str, str]]:
        """The last request whose path starts with ``prefix``."""
        with self.lock:
            return next(r for r in reversed(self.requests) if r[0].startswith(prefix))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded: Recorded

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet: tests read what was recorded instead."""

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _echo(self) -> None:
        headers = self._headers()
        body = self._body()
        self.recorded.add(self.path, headers)
        answer = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body.decode(),
        }
        self._send(
            200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        )

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _echo  # noqa: N815


class _GatewayHandler(_Handler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/ingress/auth":
            self.recorded.add(self.path, self._headers())
            self._auth(parse_qs(url.query))
        elif url.path == "/ingress/anonymous":
            self.recorded.add(self.path, self._headers())
            self._send(200, self._passed_credentials(None))
        else:
            self._echo()

    def _passed_credentials(self, token: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        authorization = self.headers.get("Authorization", "")
        if authorization and not authorization.startswith("Bearer gt-"):
            headers["Authorization"] = authorization
        cookies = [
            c.strip()
            for c in self.headers.get("Cookie", "").split(";")
            if c.strip() and not c.strip().startswith(SESSION_COOKIE + "=")
        ]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        return headers

    def _token(self) -> str | None:
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return authorization.removeprefix("Bearer ")
        for cookie in self.headers.get("Cookie", "").split(";"):
            name, _, value = cookie.strip().partition("=")
            if name == SESSION_COOKIE and value == "valid-session":
                return GOOD_TOKEN
        return None

    def _own_preflight(self) -> bool:
        """A CORS preflight from the platform's own origin (passes unchecked)."""
        origin = self.headers.get("Origin", "")
        host = self.headers.get("X-Forwarded-Host", "")
        return (
            self.headers.get("X-Original-Method") == "OPTIONS"
            and bool(self.headers.get("Access-Control-Request-Method"))
            and origin == f"http://{host}"
        )

    def _auth(self, params: dict[str, list[str]]) -> None:
        if self._own_preflight():
            self._send(200, self._passed_credentials(None))
            return
        token = self._token()
        if token not in _TOKENS:
            scheme = "Basic" if params.get("auth_type") == ["basic"] else "Bearer"
            body = json.dumps({"detail": [{"msg": "authentication required"}]})
            self._send(
                401,
                {
                    "WWW-Authenticate": f'{scheme} realm="stub"',
                    "X-Error-Status": "401",
                    "X-Error-Body": body,
                },
            )
            return
        user, scopes = _TOKENS[token]
        if not set(params.get("scope", [])) <= scopes:
            body = json.dumps({"detail": [{"msg": "scope missing"}]})
            self._send(
                403,
                {
                    "WWW-Authenticate": (
                        'Bearer realm="stub", error="insufficient_scope"'
                    ),
                    "X-Error-Status": "403",
                    "X-Error-Body": body,
                },
            )
            return
        headers = self._passed_credentials(token)
        headers["X-Auth-Request-User"] = user
        headers["X-Auth-Request-Email"] = f"{user}@example.org"
        if "delegate_to" in params:
            headers["X-Auth-Request-Service"] = params["delegate_to"][0]
            headers["X-Auth-Request-Token"] = "gt-delegated.token"
        if params.get("notebook") == ["true"]:
            headers["X-Auth-Request-Token"] = "gt-notebook.token"
        self._send(200, headers)


@contextmanager
def _serve(handler: type[_Handler], port: int) -> Iterator[Recorded]:
    recorded = Recorded()
    bound = type(handler.__name__, (handler,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", port), bound)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_stub_gateway(port: int) -> AbstractContextManager[Recorded]:
    """Run the stub gateway on ``127.0.0.1:port`` while the context lasts."""
    return _serve(_GatewayHandler, port)


def serve_stub_service(port: int) -> AbstractContextManager[Recorded]:
    """Run the echoing stub service on ``127.0.0.1:port`` while the context lasts."""
    return _serve(_Handler, port)
