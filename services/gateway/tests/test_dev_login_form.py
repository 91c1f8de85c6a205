"""The development identity provider's form: validation and stable ids."""

from __future__ import annotations

import pytest
from rsp_gateway.exceptions import LoginFormError
from rsp_gateway.services.dev_login import (
    DEV_ID_BASE,
    DEV_ID_RANGE,
    MAX_GROUPS,
    DevLoginForm,
    dev_id,
    parse_dev_login_form,
)

TOO_MANY_GROUPS = ",".join(f"g{i}" for i in range(MAX_GROUPS + 1))


def test_valid_form() -> None:
    user = parse_dev_login_form(
        DevLoginForm(
            username=" alice ",
            name="Alice Example",
            email="alice@example.org",
            groups="g-users, g-admins,,g-users ",
        )
    )
    assert user.username == "alice"
    assert user.name == "Alice Example"
    assert user.email == "alice@example.org"
    assert [g.name for g in user.groups] == ["g-admins", "g-users"]
    assert user.uid == dev_id("user", "alice")
    assert user.gid == user.uid
    assert [g.id for g in user.groups] == [
        dev_id("group", "g-admins"),
        dev_id("group", "g-users"),
    ]


def test_optional_fields_empty() -> None:
    user = parse_dev_login_form(DevLoginForm(username="bob"))
    assert user.name is None
    assert user.email is None
    assert user.groups == []


def test_ids_are_stable_and_in_range() -> None:
    names = [f"user{i}" for i in range(200)]
    ids = [dev_id("user", n) for n in names]
    assert ids == [dev_id("user", n) for n in names]
    assert all(DEV_ID_BASE <= i < DEV_ID_BASE + DEV_ID_RANGE for i in ids)
    assert len(set(ids)) > 190
    # A user and a group of the same name get different ids.
    assert dev_id("user", "alice") != dev_id("group", "alice")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (DevLoginForm(username=""), "username"),
        (DevLoginForm(username="   "), "username"),
        (DevLoginForm(username="Alice"), "username"),
        (DevLoginForm(username="alice smith"), "username"),
        (DevLoginForm(username="-alice"), "username"),
        (DevLoginForm(username="alice--x"), "username"),
        (DevLoginForm(username="al/ice"), "username"),
        (DevLoginForm(username="a" * 65), "username"),
        (DevLoginForm(username="bot-alice"), "username"),
        (DevLoginForm(username="alice", name="x" * 129), "name"),
        (DevLoginForm(username="alice", name="Alice\x00"), "name"),
        (DevLoginForm(username="alice", email="alice"), "email"),
        (DevLoginForm(username="alice", email="alice@"), "email"),
        (DevLoginForm(username="alice", email="a b@example.org"), "email"),
        (DevLoginForm(username="alice", email="alice@example"), "email"),
        (DevLoginForm(username="alice", groups="g users"), "groups"),
        (DevLoginForm(username="alice", groups="-g"), "groups"),
        (DevLoginForm(username="alice", groups="g/users"), "groups"),
        (DevLoginForm(username="alice", groups="g" * 129), "groups"),
        (DevLoginForm(username="alice", groups=TOO_MANY_GROUPS), "groups"),
    ],
)
def test_invalid_field(form: DevLoginForm, field: str) -> None:
    with pytest.raises(LoginFormError) as info:
        parse_dev_login_form(form)
    assert list(info.value.errors) == [field]
    assert info.value.errors[field]


def test_every_invalid_field_is_reported() -> None:
    form = DevLoginForm(username="", name="\x01", email="nope", groups="bad group")
    with pytest.raises(LoginFormError) as info:
        parse_dev_login_form(form)
    assert set(info.value.errors) == {"username", "name", "email", "groups"}
