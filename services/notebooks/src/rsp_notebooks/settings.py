"""The hub's settings: one pydantic-settings model read by ``jupyterhub_config.py``.

Values come from the YAML files named by ``RSP_NOTEBOOKS_CONFIG_PATH``
(colon-separated, merged in order: the chart mounts its hub, images and
sizes ConfigMaps; ``make dev`` writes one file) and are overridden by
``RSP_NOTEBOOKS_*`` environment variables.
Unknown keys are refused; a wrong setting stops the hub at start-up with a
message naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rsp_platform.routes import ROUTE_TABLE
from rsp_platform.settings import ConfigurationError, PlatformSettings
from rsp_platform.settings import load_settings as load_platform_settings

from .options import ImageCatalog, SizeCatalog
from .spawning import DEFAULT_IMAGES, DEFAULT_SIZES

__all__ = [
    "CONFIG_PATH_ENV",
    "CULLER_SERVICE",
    "HUB_MINIMUM_LIFETIME",
    "HubSettings",
    "SettingsError",
    "load_settings",
]

CONFIG_PATH_ENV = "RSP_NOTEBOOKS_CONFIG_PATH"
"""Environment variable naming the YAML settings files (colon-separated)."""

CULLER_SERVICE = "idle-culler"
"""The idle culler's name among the hub's services (and its role's)."""


def _hub_minimum_lifetime() -> int:
    route = next(r for r in ROUTE_TABLE.routes if r.name == "nublado-hub")
    return route.minimum_lifetime or 0


HUB_MINIMUM_LIFETIME = _hub_minimum_lifetime()
"""Seconds the ingress guarantees the hub's notebook tokens still live."""


SettingsError = ConfigurationError
"""The hub's settings are invalid; the message lists every problem."""


class HubSettings(PlatformSettings):
    """Everything ``jupyterhub_config.py`` needs."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_NOTEBOOKS_", extra="forbid", env_nested_delimiter="__"
    )
    config_path_env = CONFIG_PATH_ENV

    mode: Annotated[
        Literal["kubernetes", "local"],
        Field(description="kubernetes: labs are pods; local: labs are processes"),
    ] = "kubernetes"
    instance_url: Annotated[
        str, Field(description="Public base URL of the platform")
    ] = "http://localhost:8000"
    gateway_url: Annotated[
        str, Field(description="Where the hub reaches the gateway's REST API")
    ] = "http://gateway.gateway.svc.cluster.local:8080"
    hub_bind_url: Annotated[
        str, Field(description="Where the hub listens (its API for the proxy and labs)")
    ] = "http://0.0.0.0:8081"
    hub_connect_url: Annotated[
        str | None, Field(description="How labs and the proxy reach the hub")
    ] = None
    public_url: Annotated[
        str, Field(description="Where the proxy listens for the ingress")
    ] = "http://0.0.0.0:8000"
    proxy_api_url: Annotated[str, Field(description="The proxy's REST API")] = (
        "http://proxy-api:8001"
    )
    proxy_command: Annotated[
        list[str],
        Field(
            default_factory=list,
            description="Command of configurable-http-proxy; empty: run apart",
        ),
    ]
    db_url: Annotated[
        str, Field(description="JupyterHub's database (PostgreSQL in production)")
    ] = "sqlite:///jupyterhub.sqlite"
    state_dir: Annotated[
        Path, Field(description="Directory of the hub's own files (cookie secret)")
    ] = Path()
    images: Annotated[
        dict[str, Any], Field(description="Image catalog (see ImageCatalog)")
    ] = DEFAULT_IMAGES
    sizes: Annotated[
        list[dict[str, Any]], Field(description="Lab sizes (see LabSize)")
    ] = DEFAULT_SIZES
    default_size: str = "medium"
    max_lab_age: Annotated[
        int, Field(ge=600, description="Seconds a lab may run at most")
    ] = 3 * 24 * 3600
    idle_timeout: Annotated[
        int, Field(ge=60, description="Seconds of inactivity before a lab is culled")
    ] = 8 * 3600
    cull_every: Annotated[
        int, Field(ge=10, description="Seconds between two passes of the culler")
    ] = 600
    discovery_url: Annotated[
        str, Field(description="Discovery document URL (empty: via the instance)")
    ] = ""
    butler_repository_index: Annotated[
        str, Field(description="Butler repository index (empty: via the instance)")
    ] = ""
    namespace: Annotated[str, Field(description="Namespace of the labs")] = "nublado"
    home_size: Annotated[str, Field(description="Size of new home volumes")] = "10Gi"
    home_storage_class: str = ""
    lab_venv: Annotated[
        Path | None, Field(description="local: virtual environment labs run from")
    ] = None
    homes_dir: Annotated[
        Path, Field(description="local: directory of the users' homes")
    ] = Path(".dev/homes")
    culler_api_token: Annotated[
        SecretStr | None,
        Field(
            description=(
                "Token of an idle culler run apart from the hub (make dev);"
                " unset: the hub runs the culler"
            )
        ),
    ] = None
    cleanup_servers: Annotated[
        bool, Field(description="Stop every lab when the hub stops (tests)")
    ] = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check(self) -> Self:
        ImageCatalog.from_config(self.images)
        SizeCatalog.from_config(self.sizes, self.default_size)
        token = self.culler_api_token
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("culler_api_token is shorter than 16 characters")
        needed = self.max_lab_age + self.cull_every
        if HUB_MINIMUM_LIFETIME and needed > HUB_MINIMUM_LIFETIME:
            raise ValueError(
                f"max_lab_age + cull_every ({needed} s) exceeds the lifetime the"
                f" ingress guarantees notebook tokens ({HUB_MINIMUM_LIFETIME} s,"
                " minimum_lifetime of the nublado-hub route)"
            )
        return self

    @property
    def public_address(self) -> tuple[str, int]:
        """(host, port) where the proxy listens."""
        url = urlsplit(self.public_url)
        return url.hostname or "0.0.0.0", url.port or 80  # noqa: S104 (a pod)

    @property
    def public_base_url(self) -> str:
        """The instance URL without a trailing slash."""
        return self.instance_url.rstrip("/")

    @property
    def hub_api_url(self) -> str:
        """The hub's REST API (base URL ``/nb/``), as a process beside it calls it."""
        url = urlsplit(self.hub_connect_url or self.hub_bind_url)
        host = url.hostname or "127.0.0.1"
        if host in ("0.0.0.0", "::"):  # noqa: S104 (bound to all: reach loopback)
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{host}{port}/nb/hub/api"

    def culler_command(self, python: str) -> list[str]:
        """The idle culler with its options (``python``: the interpreter)."""
        return [
            python,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={self.idle_timeout}",
            f"--max-age={self.max_lab_age}",
            f"--cull-every={self.cull_every}",
        ]

    def culler_service(self, python: str) -> dict[str, Any]:
        """The culler's entry of ``c.JupyterHub.services``.

        Without ``culler_api_token`` the hub runs the culler as its child (on
        Kubernetes, in the hub's container, which ends it with the hub). With
        it, the culler runs apart (``python -m rsp_notebooks.culler``, a
        Procfile process of ``make dev``) and the hub accepts that token.
        """
        if self.culler_api_token is None:
            return {"name": CULLER_SERVICE, "command": self.culler_command(python)}
        token = self.culler_api_token.get_secret_value()
        return {"name": CULLER_SERVICE, "api_token": token}

    def culler_environment(self) -> dict[str, str]:
        """Variables of a culler run apart: the hub's API and the token.

        Raises
        ------
        SettingsError
            If ``culler_api_token`` is not set.
        """
        if self.culler_api_token is None:
            raise SettingsError(
                "culler_api_token (RSP_NOTEBOOKS_CULLER_API_TOKEN) is not set:"
                " without it the hub runs the culler itself"
            )
        return {
            "JUPYTERHUB_API_URL": self.hub_api_url,
            "JUPYTERHUB_API_TOKEN": self.culler_api_token.get_secret_value(),
            "JUPYTERHUB_SERVICE_NAME": CULLER_SERVICE,
        }


def load_settings(**overrides: Any) -> HubSettings:
    """The hub's settings (YAML files, environment, then ``overrides``).

    Raises
    ------
    SettingsError
        With every problem of the settings, or naming a missing file of
        ``RSP_NOTEBOOKS_CONFIG_PATH``.
    """
    return load_platform_settings(HubSettings, "notebooks settings", **overrides)
