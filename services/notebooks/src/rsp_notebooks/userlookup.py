"""Hub user look-ups served from the session's identity map.

Every hub API request looks its user up twice: by the hub cookie
(``BaseHandler._user_for_cookie``) and by the name in the URL
(``orm.User.find``). Each look-up is a ``SELECT`` on ``users`` followed by
three more for the relationships JupyterHub loads eagerly (roles, groups,
shares): SQLAlchemy runs those ``selectin`` queries again even when the user
and its collections are already loaded. Under 200 users polling their status
every second that was two thirds of the hub's CPU, and the hub is a single
process on one event loop.

JupyterHub's session never expires what it loaded (``expire_on_commit`` is
off) and the hub is the only writer of its database, so the user objects in
the session are the state the hub acts on anyway: ``UserDict`` keeps them for
the life of the process. This module remembers which primary key a name or a
cookie id belonged to and fetches that user with ``Session.get``, which
answers from the identity map without SQL. A hit counts only if the object
still carries the value looked up; a renamed user, a new cookie id (logout),
a deleted user or an object the session no longer holds falls back to
JupyterHub's own query, so answers are always the ones the query would give.

SQLAlchemy offers no query-result cache to configure instead, and the two
look-ups are JupyterHub's, so they are wrapped here rather than replaced:
a miss runs the original code unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import jupyterhub
from jupyterhub import orm
from jupyterhub.handlers.base import BaseHandler
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

__all__ = ["UserIndex", "install_user_lookup_cache", "user_index"]

_INSTALLED = "_rsp_user_lookup_cache"


class UserIndex:
    """Which user id a name or a cookie id was last seen with."""

    def __init__(self) -> None:
        self._by_name: dict[str, int] = {}
        self._by_cookie: dict[str, int] = {}
        self._cookie_of: dict[int, str] = {}

    def remember(self, user: orm.User) -> None:
        """Note ``user``'s name and cookie id, forgetting its old cookie id."""
        old_cookie = self._cookie_of.pop(user.id, None)
        if old_cookie is not None:
            self._by_cookie.pop(old_cookie, None)
        self._by_name[user.name] = user.id
        if user.cookie_id:
            self._by_cookie[user.cookie_id] = user.id
            self._cookie_of[user.id] = user.cookie_id

    def by_name(self, db: Session, name: str) -> orm.User | None:
        """The loaded user called ``name``, or ``None`` if SQL must answer."""
        user = self._loaded(db, self._by_name.get(name))
        if user is None or user.name != name:
            return None
        return user

    def by_cookie(self, db: Session, cookie_id: str) -> orm.User | None:
        """The loaded user with ``cookie_id``, or ``None`` if SQL must answer."""
        user = self._loaded(db, self._by_cookie.get(cookie_id))
        if user is None or user.cookie_id != cookie_id:
            return None
        return user

    def clear(self) -> None:
        """Forget everything (tests, a new database)."""
        self._by_name.clear()
        self._by_cookie.clear()
        self._cookie_of.clear()

    @staticmethod
    def _loaded(db: Session, user_id: int | None) -> orm.User | None:
        if user_id is None:
            return None
        # The identity map only: a user the session does not hold is left to
        # JupyterHub's query, which also loads its relationships.
        user = db.identity_map.get(
            sa_inspect(orm.User).identity_key_from_primary_key((user_id,))
        )
        if not isinstance(user, orm.User):
            return None
        state = sa_inspect(user)
        if state.expired or state.deleted or state.was_deleted or state.detached:
            return None
        return user


user_index = UserIndex()
"""The hub process's index (one hub, one database per process)."""


def _cached_find(
    original: Callable[[Any, Session, str], orm.User | None],
) -> Callable[[Any, Session, str], orm.User | None]:
    @functools.wraps(original)
    def find(cls: Any, db: Session, name: str) -> orm.User | None:
        user = user_index.by_name(db, name)
        if user is None:
            user = original(cls, db, name)
            if user is not None:
                user_index.remember(user)
        return user

    return find


def _cached_user_for_cookie(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def user_for_cookie(
        handler: Any, cookie_name: str, cookie_value: str | None = None
    ) -> Any:
        cookie_id = handler.get_secure_cookie(
            cookie_name, cookie_value, max_age_days=handler.cookie_max_age_days
        )
        if cookie_id is not None:
            orm_user = user_index.by_cookie(
                handler.db, cookie_id.decode("utf8", "replace")
            )
            if orm_user is not None:
                user = handler._user_from_orm(orm_user)
                if handler._record_activity(user):
                    handler.db.commit()
                return user
        # No cookie, a bad one, or a user not yet seen: JupyterHub decides.
        user = original(handler, cookie_name, cookie_value)
        if user is not None:
            user_index.remember(user.orm_user)
        return user

    return user_for_cookie


_HANDLER_PARTS = (
    "db",
    "cookie_max_age_days",
    "get_secure_cookie",
    "_user_from_orm",
    "_record_activity",
)
"""What of BaseHandler the cookie look-up uses, besides the method it wraps."""


def _wrappable() -> str | None:
    """Why JupyterHub's look-ups cannot be wrapped safely, or ``None``."""
    try:
        cookie = inspect.signature(BaseHandler._user_for_cookie)
        find = inspect.signature(orm.User.find)
    except (AttributeError, TypeError, ValueError) as e:
        return f"a look-up is missing ({e})"
    if list(cookie.parameters) != ["self", "cookie_name", "cookie_value"]:
        return f"BaseHandler._user_for_cookie{cookie} is not the known signature"
    if list(find.parameters) != ["db", "name"]:
        return f"orm.User.find{find} is not the known signature"
    missing = [name for name in _HANDLER_PARTS if not hasattr(BaseHandler, name)]
    if missing:
        return f"BaseHandler lacks {', '.join(missing)}"
    return None


def install_user_lookup_cache() -> bool:
    """Serve the hub's two per-request user look-ups from memory (idempotent).

    Returns whether the cache is in place. A JupyterHub whose look-ups do not
    have the shape this module was written for keeps its own (a warning
    says so): slower, never wrong.
    """
    if getattr(orm.User, _INSTALLED, False):
        return True
    problem = _wrappable()
    if problem is not None:
        logging.getLogger(__name__).warning(
            "Hub user look-ups are not cached: %s (JupyterHub %s)",
            problem,
            jupyterhub.__version__,
        )
        return False
    original_find = orm.User.find.__func__
    orm.User.find = classmethod(_cached_find(original_find))
    BaseHandler._user_for_cookie = _cached_user_for_cookie(BaseHandler._user_for_cookie)
    setattr(orm.User, _INSTALLED, True)
    return True
