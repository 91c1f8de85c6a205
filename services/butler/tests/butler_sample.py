"""A small sample repository shared by the Butler tests (made once per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from rsp_butler.content import ImageSpec
from rsp_butler.repository import SampleSpec, Visit, make_repository

__all__ = ["SMALL", "small_repository"]

SMALL = SampleSpec(
    patches=(5, 6),
    bands=("r", "i"),
    coadd=ImageSpec(pixels=64),
    visits=(Visit(1_000_002, "r", 62.2, -37.4, 20_230_101, "2023-01-02T03:10:00"),),
    detectors=(94,),
    sources_per_detector=30,
    calexp=ImageSpec(pixels=48, noise=60.0),
)
"""Two patches in two bands, one visit with one detector."""


@cache
def small_repository(root: Path) -> Path:
    """The small sample repository at ``root`` (made on the first call)."""
    make_repository(root, spec=SMALL)
    return root
