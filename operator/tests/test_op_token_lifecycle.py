"""ServiceToken against the real gateway: create, keep, replace, delete."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import kopf
import pytest
from kubernetes_asyncio import client
from optest.token_fixtures import TokenHarness
from optest.token_kube import NAMESPACE, secret_token
from rsp_operator import GROUP, VERSION
from structlog.testing import capture_logs

SPEC = {
    "username": "bot-tap-checker",
    "scopes": ["read:tap", "exec:notebook"],
    "secretLabels": {"app": "tap-checker"},
    "secretAnnotations": {"example.org/purpose": "monitoring"},
}


async def test_create_makes_secret_with_valid_token(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    created = await h.create("tap-checker", SPEC)

    await h.reconcile("tap-checker")

    secret = await h.secret("tap-checker")
    assert secret is not None
    token = secret_token(secret)
    info = await h.gateway.token_info(token)
    assert info is not None
    assert info["username"] == "bot-tap-checker"
    assert info["token_type"] == "service"
    assert sorted(info["scopes"]) == ["exec:notebook", "read:tap"]
    assert info.get("expires") is None
    # The Secret belongs to the ServiceToken: Kubernetes deletes it with it.
    refs = secret.metadata.owner_references
    assert len(refs) == 1
    assert refs[0].api_version == f"{GROUP}/{VERSION}"
    assert refs[0].kind == "ServiceToken"
    assert refs[0].name == "tap-checker"
    assert refs[0].uid == created["metadata"]["uid"]
    assert refs[0].controller is True
    assert secret.metadata.labels == {
        "app": "tap-checker",
        "app.kubernetes.io/managed-by": "rsp-operator",
    }
    assert secret.metadata.annotations == {"example.org/purpose": "monitoring"}
    assert secret.type == "Opaque"
    assert set(secret.data) == {"token"}

    status = await h.status("tap-checker")
    assert status["tokenKey"] == info["token"]
    assert status["observedGeneration"] == 1
    assert "expires" not in status
    assert datetime.fromisoformat(status["rotated"]) <= datetime.now(UTC)
    ready = await h.ready("tap-checker")
    assert ready["status"] == "True"
    assert ready["reason"] == "TokenValid"
    assert info["token"] in ready["message"]
    assert ready["observedGeneration"] == 1
    events = await h.events("tap-checker")
    assert [(e.reason, e.type) for e in events] == [("TokenCreated", "Normal")]
    assert events[0].involved_object.uid == created["metadata"]["uid"]
    assert token not in events[0].message
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1


async def test_second_reconcile_changes_nothing(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    token = await h.token("tap-checker")
    status = await h.status("tap-checker")
    h.recorder.clear()

    await h.reconcile("tap-checker")
    await h.reconcile("tap-checker")

    assert h.recorder.writes() == []
    assert await h.token("tap-checker") == token
    assert await h.status("tap-checker") == status
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1
    assert len(await h.events("tap-checker")) == 1


async def test_token_revoked_at_gateway_is_replaced(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    old_key = (await h.status("tap-checker"))["tokenKey"]
    await h.gateway.revoke("bot-tap-checker", old_key)

    await h.reconcile("tap-checker")

    info = await h.gateway.token_info(await h.token("tap-checker"))
    assert info is not None
    assert info["token"] != old_key
    assert (await h.status("tap-checker"))["tokenKey"] == info["token"]
    assert "pendingRevocations" not in await h.status("tap-checker")
    assert (await h.ready("tap-checker"))["status"] == "True"
    events = await h.events("tap-checker")
    assert events[-1].reason == "TokenReplaced"
    assert "revoked or expired" in events[-1].message
    assert [t["token"] for t in await h.gateway.tokens_of("bot-tap-checker")] == [
        info["token"]
    ]


async def test_changed_scopes_replace_token_and_revoke_old(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    old_token = await h.token("tap-checker")

    await h.set_spec("tap-checker", {**SPEC, "scopes": ["read:tap", "read:image"]})
    await h.reconcile("tap-checker")

    info = await h.gateway.token_info(await h.token("tap-checker"))
    assert info is not None
    assert sorted(info["scopes"]) == ["read:image", "read:tap"]
    # The old token stops working once the Secret holds the new one.
    assert await h.gateway.token_info(old_token) is None
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1
    status = await h.status("tap-checker")
    assert status["observedGeneration"] == 2
    assert (await h.ready("tap-checker"))["observedGeneration"] == 2
    assert "scopes changed" in (await h.events("tap-checker"))[-1].message


async def test_changed_labels_update_secret_only(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    token = await h.token("tap-checker")
    h.recorder.clear()

    await h.set_spec("tap-checker", {**SPEC, "secretLabels": {"team": "sqre"}})
    h.recorder.clear()
    await h.reconcile("tap-checker")

    secret = await h.secret("tap-checker")
    assert secret is not None
    assert secret_token(secret) == token
    assert secret.metadata.labels == {
        "team": "sqre",
        "app.kubernetes.io/managed-by": "rsp-operator",
    }
    # The Secret and the generation in the status; no new token.
    assert h.recorder.writes() == [
        "replace_namespaced_secret",
        "patch_namespaced_custom_object_status",
    ]
    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1


async def test_delete_revokes_token(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    secret = await h.secret("tap-checker")
    assert secret is not None
    token = secret_token(secret)

    await h.delete("tap-checker")

    assert await h.gateway.token_info(token) is None
    assert await h.gateway.tokens_of("bot-tap-checker") == []
    # The Secret is the garbage collector's: owned by the ServiceToken.
    assert secret.metadata.owner_references[0].kind == "ServiceToken"
    # Deleting again (kopf retrying) is harmless.
    await h.delete("tap-checker")


async def test_never_logs_token(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("tap-checker", {**SPEC, "lifetime": "P1D"})
    with capture_logs() as logs:
        await h.reconcile("tap-checker")
        key = (await h.status("tap-checker"))["tokenKey"]
        await h.gateway.revoke("bot-tap-checker", key)
        await h.reconcile("tap-checker")
        await h.delete("tap-checker")
    secret_part = (await h.token("tap-checker")).split(".", 1)[1]
    operator_logs = [e for e in logs if "servicetoken" in e]
    assert operator_logs
    assert all(secret_part not in repr(e) for e in logs)
    events = await h.events("tap-checker")
    assert all(secret_part not in (e.message or "") for e in events)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"token": ""},
        # Not a token (a header injection if it were sent): no gateway call.
        {"token": base64.b64encode(b"gt-abc\r\nX-Evil: 1").decode()},
        {"token": "not base64!"},
    ],
)
async def test_secret_without_token_is_refilled(
    token_harness: TokenHarness, data: dict[str, str]
) -> None:
    h = token_harness
    await h.create_reconciled("tap-checker", SPEC)
    secret = await h.secret("tap-checker")
    assert secret is not None
    old_token = secret_token(secret)
    # Someone edits the Secret (kubectl edit): the token is lost to its users.
    edited = client.V1Secret(metadata=secret.metadata, type="Opaque", data=data)
    await h.mock.replace_namespaced_secret("tap-checker", NAMESPACE, edited)

    await h.reconcile("tap-checker")

    new_token = await h.token("tap-checker")
    assert new_token != old_token
    assert await h.gateway.token_info(new_token) is not None
    # The lost token, named by the status, is revoked.
    assert await h.gateway.token_info(old_token) is None
    assert (await h.events("tap-checker"))[-1].reason == "TokenReplaced"


async def test_handlers_are_registered_with_kopf() -> None:
    registry = kopf.get_default_registry()
    handlers = [
        h
        for h in [
            *registry._changing.get_all_handlers(),
            *registry._spawning.get_all_handlers(),
        ]
        if h.selector is not None and h.selector.plural == "servicetokens"
    ]
    reasons = {(h.id, getattr(h, "reason", None)) for h in handlers}
    assert reasons == {
        ("reconcile_service_token", "create"),
        ("reconcile_service_token/spec", "update"),
        ("reconcile_service_token", None),  # resume
        ("revoke_service_token", "delete"),
        ("check_service_token", None),  # the timer
    }
    (deleter,) = [h for h in handlers if h.id == "revoke_service_token"]
    # A finalizer holds the deletion until the token is revoked.
    assert getattr(deleter, "requires_finalizer", None) is True


async def test_concurrent_reconciles_make_one_token(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create("tap-checker", SPEC)

    # kopf runs the timer apart from the change handlers: both at once.
    await asyncio.gather(h.reconcile("tap-checker"), h.tick("tap-checker"))

    assert len(await h.gateway.tokens_of("bot-tap-checker")) == 1
    assert [e.reason for e in await h.events("tap-checker")] == ["TokenCreated"]
