"""Run code in a lab's kernel as a browser would: REST to start it, WebSocket to talk.

The client's cookies (from logging in to the hub and opening the lab) are
the only credentials, as in a browser.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from websockets.asyncio.client import connect

__all__ = ["KernelError", "run_code"]


class KernelError(AssertionError):
    """The code raised in the kernel; the message is its traceback."""


def _cookie_header(client: httpx.Client | httpx.AsyncClient, path: str) -> str:
    return "; ".join(
        f"{c.name}={c.value}"
        for c in client.cookies.jar
        if path.startswith(c.path.rstrip("/")) and c.value is not None
    )


def _execute_request(code: str, session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": datetime.now(UTC).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
    }


async def run_code(
    client: httpx.AsyncClient, username: str, code: str, kernel: str = "python3"
) -> str:
    """Start a kernel in ``username``'s lab, run ``code``, return its stdout.

    Raises
    ------
    KernelError
        If the code raised (the message holds the traceback).
    """
    lab = f"/nb/user/{username}"
    xsrf = next(
        (
            c.value
            for c in client.cookies.jar
            if c.name == "_xsrf" and c.path.rstrip("/") == lab
        ),
        "",
    )
    started = await client.post(
        f"{lab}/api/kernels", json={"name": kernel}, headers={"X-XSRFToken": xsrf or ""}
    )
    started.raise_for_status()
    kernel_id = started.json()["id"]
    url = str(client.base_url).replace("http", "ws", 1).rstrip("/")
    channels = f"{url}{lab}/api/kernels/{kernel_id}/channels"
    request = _execute_request(code, uuid.uuid4().hex)
    output: list[str] = []
    try:
        headers = {"Cookie": _cookie_header(client, lab)}
        if "authorization" in client.headers:
            headers["Authorization"] = client.headers["authorization"]
        async with connect(channels, additional_headers=headers) as ws:
            await ws.send(json.dumps(request))
            while True:
                message = json.loads(await ws.recv())
                if (
                    message["parent_header"].get("msg_id")
                    != request["header"]["msg_id"]
                ):
                    continue
                kind = message["msg_type"]
                content = message["content"]
                if kind == "stream":
                    output.append(content["text"])
                elif kind == "error":
                    raise KernelError("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(output)
    finally:
        await client.delete(
            f"{lab}/api/kernels/{kernel_id}", headers={"X-XSRFToken": xsrf or ""}
        )
