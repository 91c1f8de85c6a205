"""Whether an object in the cluster still holds what the operator wrote.

The desired object is compared as a subset of the live one: every field the
operator wrote must be there with the same value, while fields it did not
write (what the API server defaults, such as an ``HTTPRoute`` backend's
``weight``, ``kind`` and ``group``; ``status``; ``managedFields``; other
controllers' annotations) are ignored. Lists are compared element by
element and must have the same length, so that an added or removed rule,
path or owner reference counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["drift", "holds"]


def _empty(value: Any) -> bool:
    # The API server drops empty optional fields (Go's omitempty): a desired
    # empty value is held by an absent one.
    return value is None or value in ("", [], {})


def _mapping_drift(live: Any, desired: Mapping[str, Any], path: str) -> str | None:
    if not isinstance(live, Mapping):
        return path or "."
    for key, value in desired.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in live:
            found = None if _empty(value) else where
        else:
            found = drift(live[key], value, where)
        if found is not None:
            return found
    return None


def _list_drift(live: Any, desired: list[Any], path: str) -> str | None:
    if not isinstance(live, list) or len(live) != len(desired):
        return path or "."
    for index, (have, want) in enumerate(zip(live, desired, strict=True)):
        found = drift(have, want, f"{path}[{index}]")
        if found is not None:
            return found
    return None


def drift(live: Any, desired: Any, path: str = "") -> str | None:
    """The first path where ``live`` does not hold ``desired``, or ``None``.

    The path reads like ``metadata.annotations.nginx.ingress.kubernetes.io/auth-url``
    or ``spec.rules[0].http.paths``, for logs.
    """
    if isinstance(desired, Mapping):
        return _mapping_drift(live, desired, path)
    if isinstance(desired, list):
        return _list_drift(live, desired, path)
    # 1 == True in Python; a field holding true where 1 was written differs.
    if live != desired or isinstance(live, bool) != isinstance(desired, bool):
        return path or "."
    return None


def holds(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether ``live`` holds every field of ``desired`` (see :func:`drift`)."""
    return drift(live, desired) is None
