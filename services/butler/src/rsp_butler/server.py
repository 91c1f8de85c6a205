"""The Butler server as the platform runs it.

The server is the one from ``lsst-daf-butler[server]``; this module only
builds it (``lsst.daf.butler.remote_butler.server.create_app``) and, when
local repositories are served (``RSP_BUTLER_FILES_URL`` set), adds the
signed file route for their files. Run with::

    uvicorn rsp_butler.server:create_app --factory

The library's own settings (``DAF_BUTLER_SERVER_*``) configure it:

``DAF_BUTLER_SERVER_REPOSITORIES``
    JSON: label -> ``{"config_uri": ".../butler.yaml", "authorized_groups": [...]}``.
``DAF_BUTLER_SERVER_GAFAELFAWR_URL``
    Where the server reaches the gateway: ``<gateway>/auth``; it asks
    ``/auth/api/v1/user-info`` with the delegated token for the user's groups.
``DAF_BUTLER_SERVER_AUTHENTICATION``
    ``rubin_science_platform``: user from ``X-Auth-Request-User``, delegated
    token from ``X-Auth-Request-Token``, as the ingress passes them.
``DAF_BUTLER_SERVER_STATIC_FILES_PATH``
    Directory served at ``/api/butler/configs``, holding the repository
    index ``repositories.yaml`` (``rsp-butler write-index``).
"""

from __future__ import annotations

from fastapi import FastAPI
from lsst.daf.butler.remote_butler.server import create_app as create_butler_app

from .config import load_config
from .files import router as files_router

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """The Butler server, with the signed file route when it is configured.

    Raises
    ------
    rsp_butler.config.ConfigurationError
        If our settings are invalid.
    pydantic.ValidationError
        If the library's ``DAF_BUTLER_SERVER_*`` settings are invalid.
    """
    config = load_config()
    app = create_butler_app()
    if config.signs_files:
        app.include_router(files_router)
    return app
