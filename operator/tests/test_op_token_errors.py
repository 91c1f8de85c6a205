"""ServiceToken failures: a clear Ready condition, and the right kind of retry."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import httpx
import kopf
import pytest
from kubernetes_asyncio import client
from optest.token_fixtures import TokenHarness
from optest.token_gateway import FlakyTransport
from optest.token_kube import NAMESPACE
from pydantic import AnyHttpUrl, SecretStr

SPEC: dict[str, Any] = {"username": "bot-tap-checker", "scopes": ["read:tap"]}


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"username": "alice", "scopes": ["read:tap"]},
            "spec.username: String should match pattern",
        ),
        (
            {**SPEC, "lifetime": "P1D", "rotateBefore": "P2D"},
            "rotateBefore must be shorter than lifetime",
        ),
        ({**SPEC, "rotateBefore": "PT1H"}, "rotateBefore needs a lifetime"),
        ({**SPEC, "lifetime": "P1DT"}, "spec.lifetime: 'P1DT' is not an ISO 8601"),
        ({**SPEC, "lifetime": "PT0S"}, "must be longer than zero"),
        ({**SPEC, "scopes": ["read tap"]}, "spec.scopes.0: String should match"),
        ({"username": "bot-x"}, "spec.scopes: Field required"),
        ({**SPEC, "color": "blue"}, "spec.color: Extra inputs are not permitted"),
    ],
)
async def test_malformed_spec_gets_clear_condition(
    token_harness: TokenHarness, spec: dict[str, Any], message: str
) -> None:
    h = token_harness
    await h.create("broken", spec)

    with pytest.raises(kopf.PermanentError, match="Invalid ServiceToken"):
        await h.reconcile("broken")

    ready = await h.ready("broken")
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert message in ready["message"], ready["message"]
    assert ready["observedGeneration"] == 1
    events = await h.events("broken")
    assert [(e.reason, e.type) for e in events] == [("InvalidSpec", "Warning")]
    assert await h.secret("broken") is None

    # The timer tries again a minute later, with no noise: same condition,
    # no new event.
    h.recorder.clear()
    await h.tick("broken")
    assert h.recorder.writes() == []
    h.token_clock.advance(timedelta(minutes=2))
    with pytest.raises(kopf.PermanentError):
        await h.tick("broken")
    assert h.recorder.writes() == []


async def test_fixed_spec_recovers(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("broken", {"username": "alice", "scopes": ["read:tap"]})
    with pytest.raises(kopf.PermanentError):
        await h.reconcile("broken")

    await h.set_spec("broken", SPEC)
    await h.reconcile("broken")

    ready = await h.ready("broken")
    assert (ready["status"], ready["reason"]) == ("True", "TokenValid")
    assert ready["observedGeneration"] == 2
    assert await h.secret("broken") is not None


async def test_unknown_scope_refused_by_gateway(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("tap-checker", {**SPEC, "scopes": ["read:nothing", "read:tap"]})

    with pytest.raises(kopf.PermanentError, match="Unknown scopes: read:nothing"):
        await h.reconcile("tap-checker")

    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("False", "GatewayRefused")
    assert "HTTP 422" in ready["message"]
    assert "Unknown scopes: read:nothing" in ready["message"]
    assert await h.secret("tap-checker") is None
    assert await h.gateway.tokens_of("bot-tap-checker") == []


async def test_bad_admin_token_refused(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.reconnect(
        h.gateway.transport,
        admin_token=SecretStr("gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"),
    )
    await h.create("tap-checker", SPEC)

    with pytest.raises(kopf.PermanentError, match="HTTP 401"):
        await h.reconcile("tap-checker")

    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("False", "GatewayRefused")
    assert "gt-AAAA" not in ready["message"]


async def test_no_admin_token_configured(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.reconnect(h.gateway.transport, admin_token=None)
    await h.create("tap-checker", SPEC)

    with pytest.raises(kopf.PermanentError, match="No admin token is configured"):
        await h.reconcile("tap-checker")

    assert (await h.ready("tap-checker"))["reason"] == "NotConfigured"


async def test_gateway_down_is_temporary(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    token = await h.token("tap-checker")

    down = f"http://127.0.0.1:{_closed_port()}"
    await h.reconnect(None, gateway_url=AnyHttpUrl(down))
    with pytest.raises(kopf.TemporaryError, match="Cannot reach the gateway") as e:
        await h.reconcile("tap-checker")
    assert e.value.delay == 60

    # The token in the Secret is probably still good: Ready is Unknown.
    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("Unknown", "GatewayUnavailable")
    assert down in ready["message"]
    assert await h.token("tap-checker") == token
    assert (await h.events("tap-checker"))[-1].type == "Warning"

    # Back again: Ready again, same token.
    await h.reconnect(h.gateway.transport)
    await h.reconcile("tap-checker")
    assert (await h.ready("tap-checker"))["status"] == "True"
    assert await h.token("tap-checker") == token


async def test_gateway_failing_without_token(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.reconnect(httpx.MockTransport(lambda _: httpx.Response(503)))
    await h.create("tap-checker", SPEC)

    with pytest.raises(kopf.TemporaryError, match="HTTP 503"):
        await h.reconcile("tap-checker")

    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("False", "GatewayUnavailable")
    assert await h.secret("tap-checker") is None


@pytest.fixture
async def flaky(token_harness: TokenHarness) -> FlakyTransport:
    """The operator's way to the gateway, failing when told; ``tap-checker`` made."""
    flaky = FlakyTransport(token_harness.gateway.transport)
    await token_harness.reconnect(flaky)
    await token_harness.create_reconciled("tap-checker", SPEC)
    return flaky


async def test_revocation_of_replaced_token_is_retried(
    token_harness: TokenHarness, flaky: FlakyTransport
) -> None:
    h = token_harness
    old_key = (await h.status("tap-checker"))["tokenKey"]

    # The gateway goes away between making the new token and revoking the old.
    flaky.failing = {"DELETE"}
    await h.set_spec("tap-checker", {**SPEC, "scopes": ["read:image"]})
    await h.reconcile("tap-checker")

    status = await h.status("tap-checker")
    assert status["pendingRevocations"] == [
        {"username": "bot-tap-checker", "key": old_key}
    ]
    assert (await h.ready("tap-checker"))["status"] == "True"
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 2

    flaky.failing = set()
    await h.reconcile("tap-checker")

    assert "pendingRevocations" not in await h.status("tap-checker")
    keys = [t["token"] for t in await h.gateway.tokens_of("bot-tap-checker")]
    assert keys == [status["tokenKey"]]


async def test_delete_with_gateway_down_is_retried(
    token_harness: TokenHarness, flaky: FlakyTransport
) -> None:
    h = token_harness

    flaky.failing = {"DELETE"}
    with pytest.raises(kopf.TemporaryError, match="Cannot reach the gateway"):
        await h.delete("tap-checker")
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1

    flaky.failing = set()
    await h.delete("tap-checker")
    assert await h.gateway.tokens_of("bot-tap-checker") == []


async def test_foreign_secret_is_left_alone(token_harness: TokenHarness) -> None:
    h = token_harness
    foreign = client.V1Secret(
        metadata=client.V1ObjectMeta(name="tap-checker", namespace=NAMESPACE),
        data={"password": "aHVudGVyMg=="},
    )
    await h.mock.create_namespaced_secret(NAMESPACE, foreign)
    await h.create("tap-checker", SPEC)

    with pytest.raises(kopf.PermanentError, match="not owned by this ServiceToken"):
        await h.reconcile("tap-checker")

    assert (await h.ready("tap-checker"))["reason"] == "SecretConflict"
    secret = await h.secret("tap-checker")
    assert secret is not None
    assert secret.data == {"password": "aHVudGVyMg=="}
    assert await h.gateway.tokens_of("bot-tap-checker") == []


async def test_secret_of_earlier_servicetoken_waits(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    # A ServiceToken of the same name, recreated before the garbage
    # collector removed the first one's Secret.
    obj = await h.get("tap-checker")
    obj["metadata"]["uid"] = "00000000-0000-4000-8000-000000000000"
    await h.mock.replace_namespaced_custom_object(
        obj["apiVersion"].split("/")[0],
        obj["apiVersion"].split("/")[1],
        NAMESPACE,
        "servicetokens",
        "tap-checker",
        obj,
    )

    with pytest.raises(kopf.TemporaryError, match="earlier ServiceToken"):
        await h.reconcile("tap-checker")


async def test_secret_write_failure_revokes_new_token(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create("tap-checker", SPEC)
    h.recorder.failing = {"create_namespaced_secret": 500}

    with pytest.raises(kopf.TemporaryError, match="Kubernetes refused to create"):
        await h.reconcile("tap-checker")

    # The token nobody could receive does not stay valid.
    assert await h.gateway.tokens_of("bot-tap-checker") == []
    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("False", "KubernetesError")

    h.recorder.failing = {}
    await h.reconcile("tap-checker")
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1
    assert (await h.ready("tap-checker"))["status"] == "True"


async def test_admin_token_without_admin_scope_refused(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    weak = await h.gateway.create_token("bot-weak", ["read:tap"])
    await h.reconnect(h.gateway.transport, admin_token=SecretStr(weak))
    await h.create("tap-checker", SPEC)

    with pytest.raises(kopf.PermanentError, match="HTTP 403"):
        await h.reconcile("tap-checker")

    ready = await h.ready("tap-checker")
    assert (ready["status"], ready["reason"]) == ("False", "GatewayRefused")
    assert "admin:token" in ready["message"]
    assert weak.split(".")[1] not in ready["message"]
