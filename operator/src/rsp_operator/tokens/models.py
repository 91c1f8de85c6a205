"""The ServiceToken resource as the operator reads it, and what a reconcile did.

The CRD (``charts/operator/crds/servicetokens.yaml``) already checks shapes;
:class:`ServiceTokenSpec` checks them again, and the rules a schema cannot
say (``rotateBefore`` shorter than ``lifetime``), so that a resource that
slipped past (an old CRD, a disabled validation) gets a clear message
instead of a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .. import GROUP, VERSION

__all__ = [
    "KIND",
    "PLURAL",
    "ServiceTokenRef",
    "ServiceTokenSpec",
    "TokenAction",
    "TokenOutcome",
    "describe_spec_error",
    "parse_duration",
]

KIND = "ServiceToken"
PLURAL = "servicetokens"

BOT_USERNAME_PATTERN = r"^bot-[a-z0-9](?:[a-z0-9]|-[a-z0-9])*$"
SCOPE_PATTERN = r"^[a-z]+:[a-z]+$"
_DURATION_RE = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(value: str) -> timedelta:
    """Read an ISO 8601 duration of days, hours, minutes and seconds (``P30D``).

    Raises
    ------
    ValueError
        If ``value`` is not such a duration, or is zero.
    """
    match = _DURATION_RE.match(value)
    if not match or value.endswith(("P", "T")):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P30D or PT12H")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    duration = timedelta(**parts)
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


class ServiceTokenSpec(BaseModel):
    """``spec`` of a ServiceToken, validated."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    username: Annotated[str, Field(pattern=BOT_USERNAME_PATTERN, max_length=64)]
    scopes: Annotated[
        list[Annotated[str, Field(pattern=SCOPE_PATTERN)]], Field(max_length=32)
    ]
    lifetime: timedelta | None = None
    rotate_before: Annotated[timedelta | None, Field(alias="rotateBefore")] = None
    secret_labels: Annotated[
        dict[str, str], Field(alias="secretLabels", default_factory=dict)
    ]
    secret_annotations: Annotated[
        dict[str, str], Field(alias="secretAnnotations", default_factory=dict)
    ]

    @field_validator("scopes")
    @classmethod
    def _unique_sorted(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @field_validator("lifetime", "rotate_before", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_duration(value)
        if value is None or isinstance(value, timedelta):
            return value
        raise ValueError("must be an ISO 8601 duration such as P30D")

    @model_validator(mode="after")
    def _rotation_fits(self) -> ServiceTokenSpec:
        if self.rotate_before is not None:
            if self.lifetime is None:
                raise ValueError(
                    "rotateBefore needs a lifetime (a token without one never expires)"
                )
            if self.rotate_before >= self.lifetime:
                raise ValueError("rotateBefore must be shorter than lifetime")
        return self

    @property
    def rotation_margin(self) -> timedelta | None:
        """How long before expiry the token is replaced (None: never expires)."""
        if self.lifetime is None:
            return None
        return self.rotate_before or self.lifetime / 5


def describe_spec_error(error: ValidationError) -> str:
    """One line naming every invalid field of a spec (``spec.scopes[0]: ...``)."""
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in ("spec", *item["loc"]))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


@dataclass(frozen=True, slots=True)
class ServiceTokenRef:
    """Which ServiceToken: what owner references and events point at."""

    name: str
    namespace: str
    uid: str
    generation: int | None = None

    @property
    def api_version(self) -> str:
        """``group/version`` of the resource."""
        return f"{GROUP}/{VERSION}"

    @property
    def kind(self) -> str:
        """Kind of the resource."""
        return KIND

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ServiceTokenRef:
        """The reference to the ServiceToken ``body`` (as kopf or the API gives it)."""
        meta = body["metadata"]
        generation = meta.get("generation")
        return cls(
            name=meta["name"],
            namespace=meta["namespace"],
            uid=meta["uid"],
            generation=generation if isinstance(generation, int) else None,
        )


class TokenAction(StrEnum):
    """What a reconcile did to the token."""

    NONE = "none"
    """The Secret holds a valid token that fits the spec."""

    CREATED = "created"
    """There was no token: a new one was made."""

    REPLACED = "replaced"
    """The token was invalid or no longer fit the spec: a new one was made."""

    ROTATED = "rotated"
    """The token was about to expire: a new one was made."""


@dataclass(frozen=True, slots=True)
class TokenOutcome:
    """The result of one reconcile."""

    action: TokenAction
    key: str
    expires: datetime | None
    rotate_at: datetime | None
    """When the token is due for rotation (`None`: never)."""
    reason: str = ""
    """Why a new token was made (empty when none was)."""
