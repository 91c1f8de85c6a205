"""The fake Kubernetes API server over HTTP (aiohttp), on a local port.

The real ``kubernetes_asyncio`` client, configured with this server's URL,
talks to it as to kube-apiserver: JSON bodies, ``Status`` errors with their
HTTP codes, and watches as a chunked stream of one JSON event per line that
ends after ``timeoutSeconds`` (or with an ``ERROR`` event, as 410 Expired).
With RBAC rules (:attr:`FakeKubernetes.rules`), a call they do not grant is
answered 403 Forbidden.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from .kubeapi import RESOURCES, FakeKubernetes
from .kubeproto import ApiError, matches, parse_selectors

__all__ = ["build_app", "run_fake_kubernetes"]


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


_VERBS = {"POST": "create", "PUT": "update", "DELETE": "delete", "PATCH": "patch"}


def _authorize(fake: FakeKubernetes, request: web.Request) -> None:
    """403 for a call the RBAC rules do not grant (all pass without rules)."""
    match = request.match_info
    if fake.rules is None or "plural" not in match:
        return
    name = match.get("name")
    if request.method == "GET":
        verb = "get" if name else "list"
        if not name and _truthy(request.query.get("watch")):
            verb = "watch"
    else:
        verb = _VERBS[request.method]
    group = match.get("group", "")
    resource = match["plural"]
    if (group, resource, verb) in fake.rules:
        return
    subject = f'{resource} "{name}"' if name else resource
    raise ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{fake.user}" cannot {verb} resource'
        f' "{resource}" in API group "{group}" in the namespace'
        f' "{match["namespace"]}"',
        {"name": name or "", "kind": resource},
    )


def build_app(fake: FakeKubernetes) -> web.Application:
    """The aiohttp application serving ``fake``'s API."""

    def resource_of(request: web.Request) -> str:
        resource = request.match_info["plural"]
        group_version = request.match_info.get("group", "core") + "/"
        group_version += request.match_info["version"]
        known = RESOURCES.get(resource)
        if known is None or known.group_version != group_version:
            raise ApiError(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            )
        return resource

    @web.middleware
    async def errors(
        request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]
    ) -> Any:
        fake.requests.append((request.method, request.path_qs))
        try:
            _authorize(fake, request)
            return await handler(request)
        except ApiError as e:
            return _json(e.status(), e.code)

    async def collection(request: web.Request) -> web.StreamResponse:
        resource = resource_of(request)
        namespace = request.match_info["namespace"]
        if request.method == "POST":
            body = await request.json()
            return _json(await fake.create(resource, namespace, body), 201)
        query = request.query
        label_selector = query.get("labelSelector", "")
        field_selector = query.get("fieldSelector", "")
        if not _truthy(query.get("watch")):
            return _json(
                fake.list_objects(resource, namespace, label_selector, field_selector)
            )
        return await stream_watch(
            request, resource, namespace, label_selector, field_selector
        )

    async def stream_watch(
        request: web.Request,
        resource: str,
        namespace: str,
        label_selector: str,
        field_selector: str,
    ) -> web.StreamResponse:
        labels, fields = parse_selectors(label_selector, field_selector)
        timeout = request.query.get("timeoutSeconds")
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            async with fake.watch(
                resource, namespace, request.query.get("resourceVersion")
            ) as queue:
                while True:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    try:
                        event = await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
                    if matches(event.object, labels, fields):
                        line = {"type": event.type, "object": event.object}
                        await response.write(json.dumps(line).encode() + b"\n")
        except ApiError as e:
            line = {"type": "ERROR", "object": e.status()}
            await response.write(json.dumps(line).encode() + b"\n")
        await response.write_eof()
        return response

    async def item(request: web.Request) -> web.Response:
        resource = resource_of(request)
        namespace = request.match_info["namespace"]
        name = request.match_info["name"]
        if request.method == "GET":
            return _json(fake.read(resource, namespace, name))
        if request.method == "PUT":
            body = await request.json()
            return _json(await fake.replace(resource, namespace, name, body))
        grace = request.query.get("gracePeriodSeconds")
        if request.can_read_body:
            options = await request.json()
            if options.get("gracePeriodSeconds") is not None:
                grace = options["gracePeriodSeconds"]
        seconds = None if grace is None else int(grace)
        return _json(await fake.delete(resource, namespace, name, seconds))

    app = web.Application(middlewares=[errors])
    for prefix in ("/api/{version}", "/apis/{group}/{version}"):
        base = prefix + "/namespaces/{namespace}/{plural}"
        app.router.add_route("GET", base, collection)
        app.router.add_route("POST", base, collection)
        for method in ("GET", "PUT", "DELETE"):
            app.router.add_route(method, base + "/{name}", item)
    return app


@asynccontextmanager
async def run_fake_kubernetes(fake: FakeKubernetes) -> Any:
    """Serve ``fake`` on a free local port; yield its base URL."""
    runner = web.AppRunner(
        build_app(fake), shutdown_timeout=1, handler_cancellation=True
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
