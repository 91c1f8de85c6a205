"""Helpers that read what the service answers (VOTables, DALI errors)."""

from __future__ import annotations

import io
import warnings
from typing import Any

from astropy.io.votable import parse


def read_votable(content: bytes) -> Any:
    """Parse a VOTable strictly (any astropy warning fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return parse(io.BytesIO(content), verify="exception")


def query_status(content: bytes) -> list[tuple[str, str]]:
    """The QUERY_STATUS INFOs of a VOTable's result resource, in order."""
    votable = read_votable(content)
    resource = votable.resources[0]
    return [
        (i.value, i.content or "") for i in resource.infos if i.name == "QUERY_STATUS"
    ]


def error_message(content: bytes) -> str:
    """The message of a DALI error document (fails if it is not one)."""
    statuses = query_status(content)
    assert statuses, "no QUERY_STATUS"
    assert statuses[0][0] == "ERROR"
    return statuses[0][1]
