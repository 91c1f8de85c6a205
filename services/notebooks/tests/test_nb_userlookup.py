"""Hub user look-ups from the identity map: same answers, no SQL when loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyterhub import orm
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.tests.mocking import MockHub, public_url
from jupyterhub.tests.utils import AsyncSession, add_user
from rsp_notebooks import userlookup
from rsp_notebooks.userlookup import UserIndex, install_user_lookup_cache
from sqlalchemy import event
from sqlalchemy.orm import Session
from traitlets.config import Config

CHP = Path(__file__).resolve().parents[3] / "node_modules/.bin/configurable-http-proxy"


class StatementLog:
    """The SQL statements an engine ran while counting."""

    def __init__(self, engine: Any) -> None:
        self.statements: list[str] = []
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        self.statements.append(args[2])

    def on_users(self) -> list[str]:
        """Statements that read the users table or its relationships."""
        return [s for s in self.statements if "users" in s]

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[UserIndex]:
    """The cache installed for one test, the classes restored after it."""
    monkeypatch.setattr(orm.User, "find", orm.User.__dict__["find"])
    monkeypatch.setattr(BaseHandler, "_user_for_cookie", BaseHandler._user_for_cookie)
    monkeypatch.setattr(orm.User, "_rsp_user_lookup_cache", False, raising=False)
    userlookup.user_index.clear()
    assert install_user_lookup_cache()
    assert install_user_lookup_cache()  # idempotent: wrapped once
    yield userlookup.user_index
    userlookup.user_index.clear()


@pytest.fixture
def unwrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterHub's own look-ups, restored after the test."""
    monkeypatch.setattr(orm.User, "find", orm.User.__dict__["find"])
    monkeypatch.setattr(BaseHandler, "_user_for_cookie", BaseHandler._user_for_cookie)
    monkeypatch.setattr(orm.User, "_rsp_user_lookup_cache", False, raising=False)


def test_a_jupyterhub_of_another_shape_keeps_its_own_look_ups(
    unwrapped: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def changed(self: Any, cookie_name: str, cookie_value: Any, extra: int) -> Any:
        raise AssertionError("never called")

    monkeypatch.setattr(BaseHandler, "_user_for_cookie", changed)
    original_find = orm.User.__dict__["find"]
    assert not install_user_lookup_cache()
    assert BaseHandler._user_for_cookie is changed
    assert orm.User.__dict__["find"] is original_find
    assert "Hub user look-ups are not cached" in caplog.text
    assert "_user_for_cookie" in caplog.text


def test_a_jupyterhub_without_a_helper_keeps_its_own_look_ups(
    unwrapped: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(BaseHandler, "_record_activity")
    assert not install_user_lookup_cache()
    assert "lacks _record_activity" in caplog.text


@pytest.fixture
def db() -> Iterator[Session]:
    session = orm.new_session_factory("sqlite://")()
    try:
        yield session
    finally:
        session.close()


def make_user(db: Session, name: str) -> orm.User:
    user = orm.User(name=name)
    db.add(user)
    db.commit()
    return user


def test_a_loaded_user_is_found_without_sql(cache: UserIndex, db: Session) -> None:
    alice = make_user(db, "alice")
    bob = make_user(db, "bob")  # held, as the hub's UserDict holds its users
    assert orm.User.find(db, "alice") is alice  # first look-up: SQL, remembered
    log = StatementLog(db.get_bind())
    try:
        for _ in range(3):
            assert orm.User.find(db, "alice") is alice
        assert orm.User.find(db, "bob") is bob
        assert orm.User.find(db, "bob") is bob
        assert orm.User.find(db, "nobody") is None
    finally:
        log.close()
    # Only the first look-up of bob and the unknown name reached the database.
    assert len([s for s in log.statements if "FROM users" in s]) == 2
    # A user the session no longer holds is read again, not answered stale.
    del bob
    assert orm.User.find(db, "bob").name == "bob"
    assert cache.by_cookie(db, alice.cookie_id) is alice


def test_renamed_and_deleted_users_are_not_found_by_old_values(
    cache: UserIndex, db: Session
) -> None:
    alice = make_user(db, "alice")
    assert orm.User.find(db, "alice") is alice
    alice.name = "alicia"
    db.commit()
    assert orm.User.find(db, "alice") is None
    assert orm.User.find(db, "alicia") is alice
    old_cookie = alice.cookie_id
    alice.cookie_id = "a-new-cookie-id"
    db.commit()
    assert cache.by_cookie(db, old_cookie) is None
    db.delete(alice)
    db.commit()
    assert orm.User.find(db, "alicia") is None
    assert cache.by_name(db, "alicia") is None


def test_a_name_reused_after_deletion_finds_the_new_user(
    cache: UserIndex, db: Session
) -> None:
    first = make_user(db, "carol")
    assert orm.User.find(db, "carol") is first
    db.delete(first)
    db.commit()
    second = make_user(db, "carol")
    assert orm.User.find(db, "carol") is second


def test_another_database_is_never_answered_from_the_first(cache: UserIndex) -> None:
    one = orm.new_session_factory("sqlite://")()
    two = orm.new_session_factory("sqlite://")()
    try:
        make_user(one, "dave")  # id 1 in the first database
        make_user(two, "erin")  # id 1 in the second
        assert orm.User.find(one, "dave") is not None
        assert orm.User.find(two, "dave") is None
        assert orm.User.find(two, "erin").name == "erin"
        assert orm.User.find(one, "erin") is None
    finally:
        one.close()
        two.close()


def test_an_expired_user_is_read_again(cache: UserIndex, db: Session) -> None:
    alice = make_user(db, "alice")
    assert orm.User.find(db, "alice") is alice
    db.expire(alice)
    assert cache.by_name(db, "alice") is None
    assert orm.User.find(db, "alice") is alice
    assert alice.name == "alice"


@pytest.fixture
async def hub(
    cache: UserIndex,  # installed before the hub starts
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[MockHub]:
    monkeypatch.chdir(tmp_path)  # the hub writes its cookie secret here
    config = Config()
    config.JupyterHub.db_url = "sqlite://"
    config.JupyterHub.activity_resolution = 300
    config.ConfigurableHTTPProxy.command = [str(CHP)]
    app = MockHub.instance(config=config)
    try:
        await app.initialize([])
        await app.start()
        yield app
    finally:
        await app.cleanup()
        app.log.handlers = []
        MockHub.clear_instance()


async def logged_in(app: MockHub, name: str) -> AsyncSession:
    """A browser-like session logged in to the hub as ``name``."""
    session = AsyncSession()
    cookies = await app.login_user(name)
    session.cookies.update(cookies)
    return session


async def test_api_requests_by_cookie_read_no_user_rows_once_loaded(
    hub: MockHub,
) -> None:
    add_user(hub.db, hub, name="alice")
    add_user(hub.db, hub, name="bob")
    alice = await logged_in(hub, "alice")
    url = public_url(hub) + "hub/api/users/alice"
    first = await alice.get(url)
    assert first.status_code == 200
    log = StatementLog(hub.db.get_bind())
    try:
        answers = [await alice.get(url) for _ in range(5)]
    finally:
        log.close()
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["name"] for a in answers} == {"alice"}
    assert answers[-1].json()["servers"] == first.json()["servers"]
    assert log.on_users() == []
    # The cookie still speaks only for its user.
    other = await alice.get(public_url(hub) + "hub/api/users/bob")
    assert other.status_code == 404


async def test_a_cookie_of_a_deleted_or_renamed_user_no_longer_works(
    hub: MockHub,
) -> None:
    add_user(hub.db, hub, name="alice", admin=True)
    add_user(hub.db, hub, name="bob")
    alice = await logged_in(hub, "alice")
    bob = await logged_in(hub, "bob")
    base = public_url(hub) + "hub/api/users/"
    assert (await bob.get(base + "bob")).status_code == 200
    xsrf = {"X-XSRFToken": alice.cookies.get("_xsrf", "")}
    renamed = await alice.patch(base + "bob", json={"name": "robert"}, headers=xsrf)
    assert renamed.status_code == 200
    assert (await bob.get(base + "bob")).status_code in (403, 404)
    assert (await bob.get(base + "robert")).status_code == 200
    deleted = await alice.delete(base + "robert", headers=xsrf)
    assert deleted.status_code == 204
    assert (await bob.get(base + "robert")).status_code == 403
