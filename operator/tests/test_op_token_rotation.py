"""ServiceToken lifetimes: rotation before expiry and the timer's schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

from optest.token_fixtures import TokenHarness

SPEC = {
    "username": "bot-mobu",
    "scopes": ["exec:notebook"],
    "lifetime": "P1D",
    "rotateBefore": "PT2H",
}


async def test_token_gets_lifetime(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("mobu", SPEC)

    await h.reconcile("mobu")

    info = await h.gateway.token_info(await h.token("mobu"))
    assert info is not None
    expires = datetime.fromtimestamp(info["expires"]).astimezone()
    lifetime = expires - datetime.fromtimestamp(info["created"]).astimezone()
    assert timedelta(hours=23, minutes=59) <= lifetime <= timedelta(days=1, minutes=1)
    status = await h.status("mobu")
    assert datetime.fromisoformat(status["expires"]) == expires
    assert "valid until" in (await h.ready("mobu"))["message"]


async def test_rotates_before_expiry_and_revokes_old(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled("mobu", SPEC)
    old_token = await h.token("mobu")
    old_status = await h.status("mobu")

    # Not yet within rotateBefore of the expiry: nothing happens.
    h.token_clock.advance(timedelta(hours=21))
    h.recorder.clear()
    await h.reconcile("mobu")
    assert h.recorder.writes() == []
    assert await h.token("mobu") == old_token

    # Within two hours of the expiry: a new token, the old one revoked.
    h.token_clock.advance(timedelta(hours=1, minutes=30))
    await h.reconcile("mobu")

    new_token = await h.token("mobu")
    assert new_token != old_token
    assert await h.gateway.token_info(old_token) is None
    info = await h.gateway.token_info(new_token)
    assert info is not None
    status = await h.status("mobu")
    assert status["tokenKey"] == info["token"]
    assert status["expires"] > old_status["expires"]
    assert status["rotated"] >= old_status["rotated"]
    events = await h.events("mobu")
    assert [e.reason for e in events] == ["TokenCreated", "TokenRotated"]
    assert "expires at" in events[-1].message
    assert len(await h.gateway.tokens_of("bot-mobu")) == 1

    # And the rotated token is kept.
    h.recorder.clear()
    await h.reconcile("mobu")
    assert h.recorder.writes() == []


async def test_default_rotation_is_a_fifth_of_lifetime(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled(
        "mobu", {**SPEC, "lifetime": "P10D", "rotateBefore": None}
    )
    token = await h.token("mobu")

    h.token_clock.advance(timedelta(days=7, hours=23))
    await h.reconcile("mobu")
    assert await h.token("mobu") == token

    h.token_clock.advance(timedelta(hours=2))
    await h.reconcile("mobu")
    assert await h.token("mobu") != token


async def test_shorter_or_removed_lifetime_replaces_token(
    token_harness: TokenHarness,
) -> None:
    h = token_harness
    await h.create_reconciled(
        "mobu", {**SPEC, "lifetime": "P30D", "rotateBefore": "P1D"}
    )
    first = await h.token("mobu")

    await h.set_spec("mobu", SPEC)
    await h.reconcile("mobu")
    second = await h.token("mobu")
    assert second != first
    assert "lifetime was shortened" in (await h.events("mobu"))[-1].message

    await h.set_spec("mobu", {"username": "bot-mobu", "scopes": ["exec:notebook"]})
    await h.reconcile("mobu")
    third = await h.token("mobu")
    assert third != second
    info = await h.gateway.token_info(third)
    assert info is not None
    assert info.get("expires") is None
    assert "expires" not in await h.status("mobu")
    assert [t["token"] for t in await h.gateway.tokens_of("bot-mobu")] == [
        info["token"]
    ]


async def test_timer_checks_when_due(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("mobu", SPEC)
    # The first tick of a new object checks at once.
    await h.tick("mobu")
    token = await h.token("mobu")
    key = (await h.status("mobu"))["tokenKey"]
    await h.gateway.revoke("bot-mobu", key)

    # Before the check interval (10 minutes by default) the timer does nothing.
    h.recorder.clear()
    h.token_clock.advance(timedelta(minutes=9))
    await h.tick("mobu")
    assert h.recorder.writes() == []
    assert await h.token("mobu") == token

    # After it, the check finds the revoked token and replaces it.
    h.token_clock.advance(timedelta(minutes=2))
    await h.tick("mobu")
    assert await h.token("mobu") != token
    assert (await h.ready("mobu"))["status"] == "True"


async def test_timer_checks_at_rotation_time(token_harness: TokenHarness) -> None:
    h = token_harness
    await h.create("mobu", {**SPEC, "lifetime": "PT1H", "rotateBefore": "PT55M"})
    await h.tick("mobu")
    token = await h.token("mobu")

    # Rotation is due after 5 minutes, before the 10-minute check interval.
    h.token_clock.advance(timedelta(minutes=6))
    await h.tick("mobu")

    assert await h.token("mobu") != token
    assert (await h.events("mobu"))[-1].reason == "TokenRotated"
