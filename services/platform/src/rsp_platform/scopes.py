"""The scopes of the platform, as the contract (``platform.md``) lists them.

A scope names a right a token carries; group membership grants scopes through
the gateway's ``group_mapping``. Routes require scopes (see
:mod:`rsp_platform.routes`), so a route naming a scope that is not here is
refused when the route table is validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["KNOWN_SCOPES"]

KNOWN_SCOPES: Mapping[str, str] = MappingProxyType(
    {
        "exec:notebook": "Use the Notebook Aspect (JupyterLab)",
        "exec:portal": "Use the Portal Aspect",
        "read:tap": "Query catalogs with TAP",
        "read:image": "Retrieve images and datasets from the Butler",
        "user:token": "Create and manage your own tokens",
        "admin:token": "Manage any user's tokens and service tokens",
        "admin:userinfo": "Read any user's metadata",
        "admin:jupyterlab": "Manage any user's JupyterLab",
        "exec:admin": "Administrative access to every service",
    }
)
"""Every scope of the platform and what it allows, in the contract's order."""
