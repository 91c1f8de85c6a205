"""What the fake API server's answers are made of.

Times as ``metav1.Time`` and ``MicroTime`` print them, ``Status`` errors, and
label and field selectors as kube-apiserver parses them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FIELDS",
    "ApiError",
    "Selector",
    "matches",
    "micro_time",
    "parse_selectors",
    "rfc3339",
]

Selector = list[tuple[str, str, bool]]
"""Parsed selector terms: (key, value, whether equal)."""

FIELDS = {"metadata.name", "metadata.namespace", "involvedObject.kind"} | {
    "involvedObject.name",
    "involvedObject.uid",
    "status.phase",
    "spec.nodeName",
}
"""Field selectors the API server accepts for the kinds served here."""


def rfc3339(moment: float | None = None) -> str:
    """A ``metav1.Time``: whole seconds, UTC."""
    value = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(moment: float | None = None) -> str:
    """A ``metav1.MicroTime`` (events' ``eventTime``)."""
    value = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiError(Exception):
    """An API answer other than success, as a ``Status`` object."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``Status`` body the API server answers with."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    @classmethod
    def not_found(cls, resource: str, name: str) -> ApiError:
        """404, as for a missing object."""
        return cls(
            404,
            "NotFound",
            f'{resource} "{name}" not found',
            {"name": name, "kind": resource},
        )


def _selector_pairs(selector: str) -> Selector:
    pairs = []
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            pairs.append((key, value, False))
        elif "=" in term:
            key, value = term.split("=", 1)
            pairs.append((key.rstrip("="), value, True))
        else:
            raise ApiError(
                400, "BadRequest", f"unable to parse requirement: {term!r}", None
            )
    return pairs


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def matches(obj: dict[str, Any], labels: Selector, fields: Selector) -> bool:
    """Whether an object matches parsed label and field selectors."""
    own = obj["metadata"].get("labels") or {}
    for key, value, equal in labels:
        if (own.get(key) == value) != equal:
            return False
    return all(
        (_field_value(obj, key) == value) == equal for key, value, equal in fields
    )


def parse_selectors(
    label_selector: str, field_selector: str
) -> tuple[Selector, Selector]:
    """Parsed label and field selectors; 400 for a field the API does not index."""
    fields = _selector_pairs(field_selector)
    for key, _, _ in fields:
        if key not in FIELDS:
            raise ApiError(
                400,
                "BadRequest",
                f'"{key}" is not a known field selector: only "metadata.name",'
                ' "metadata.namespace"',
                None,
            )
    return _selector_pairs(label_selector), fields
