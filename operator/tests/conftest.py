"""Fixtures shared by the operator's tests.

Fixtures live in modules of ``optest/``, imported here so that pytest finds
them (``pytest_plugins`` is refused in a conftest below the rootdir).
"""

from __future__ import annotations

from optest.token_fixtures import (  # noqa: F401
    token_clock,
    token_gateway,
    token_harness,
    token_kubernetes,
)
