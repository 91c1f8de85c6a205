"""A miniature platform around the real Butler server, for tests.

``platform_app`` puts an ASGI stand-in for the ingress and the gateway in
front of ``rsp_butler.server.create_app()``: the ingress part admits each
request by the platform's route table (anonymous sub-paths, ``read:image``
for the rest), drops client-sent ``X-Auth-Request-*`` headers and sets them
from the token, as the real ingress does from the gateway's answer; the
gateway part answers ``/auth/api/v1/user-info`` for the delegated token.
``serve`` runs an app with uvicorn on a free local port in a thread, since
``Butler("dp01")`` and file downloads speak real HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from rsp_platform.routes import ROUTE_TABLE, Access
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PlatformUser", "free_port", "platform_app", "serve"]

ROUTED = {"gateway", "butler"}


@dataclass(frozen=True)
class PlatformUser:
    """A user of the miniature platform: tokens, scopes and groups."""

    username: str
    token: str
    delegated_token: str
    scopes: tuple[str, ...]
    groups: tuple[str, ...]


async def _respond(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def platform_app(butler: ASGIApp, users: Mapping[str, PlatformUser]) -> ASGIApp:
    """The Butler server behind a stand-in ingress and gateway user-info."""
    by_delegated = {u.delegated_token: u for u in users.values()}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await butler(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        path = scope["path"]
        if path == "/auth/api/v1/user-info":
            user = by_delegated.get(token)
            if user is None:
                await _respond(send, 401, {"detail": "invalid token"})
                return
            groups = [{"name": g, "id": i} for i, g in enumerate(user.groups)]
            await _respond(send, 200, {"username": user.username, "groups": groups})
            return
        route = ROUTE_TABLE.route_for(path, ROUTED)
        if route is None or route.service != "butler":
            await _respond(send, 404, {"detail": "not routed"})
            return
        kept = [
            (k, v)
            for k, v in scope["headers"]
            if not k.decode().lower().startswith("x-auth-request-")
            and k.decode().lower() not in ("authorization",)
        ]
        if route.access is not Access.ANONYMOUS:
            user = users.get(token)
            if user is None:
                await _respond(send, 401, {"detail": "no valid token"})
                return
            if not set(route.scopes) <= set(user.scopes):
                await _respond(send, 403, {"detail": "insufficient scope"})
                return
            kept += [
                (b"x-auth-request-user", user.username.encode()),
                (b"x-auth-request-token", user.delegated_token.encode()),
                (b"x-auth-request-service", (route.delegate_to or "").encode()),
            ]
            if route.use_authorization:
                kept.append(
                    (b"authorization", f"Bearer {user.delegated_token}".encode())
                )
        await butler({**scope, "headers": kept}, receive, send)

    return app


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: ASGIApp, port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` until the block ends; its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
