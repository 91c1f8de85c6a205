"""The operator's settings (``RSP_OPERATOR_*`` and the YAML file they name)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import SettingsConfigDict
from rsp_platform.routes import DEFAULT_GATEWAY_URL
from rsp_platform.settings import PlatformSettings, load_settings

__all__ = [
    "GatewayApiSettings",
    "IngressFlavour",
    "OperatorSettings",
    "load_operator_settings",
]


class IngressFlavour(StrEnum):
    """Which ingress objects a ``PlatformIngress`` becomes."""

    NGINX = "nginx"
    """ingress-nginx ``Ingress`` objects with auth annotations."""

    GATEWAY_API = "gateway-api"
    """Gateway API ``HTTPRoute`` plus the implementation's external-auth policy."""


class GatewayApiSettings(PlatformSettings):
    """Where Gateway API routes attach (used with ``gateway-api``)."""

    model_config = SettingsConfigDict(extra="forbid")

    gateway_name: Annotated[
        str, Field(description="Name of the Gateway the HTTPRoutes attach to")
    ] = "science-platform"
    gateway_namespace: Annotated[
        str, Field(description="Namespace of that Gateway")
    ] = "gateway-system"
    section_name: Annotated[
        str | None, Field(description="Listener of the Gateway (default: all)")
    ] = None


class OperatorSettings(PlatformSettings):
    """Everything the operator needs; validated at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_OPERATOR_", extra="forbid", env_nested_delimiter="__"
    )
    config_path_env = "RSP_OPERATOR_CONFIG_PATH"

    host: Annotated[
        str,
        Field(
            description="Platform host name used when a PlatformIngress sets none",
            pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        ),
    ] = "localhost"
    gateway_url: Annotated[
        AnyHttpUrl,
        Field(description="The gateway in the cluster (auth subrequest, admin API)"),
    ] = AnyHttpUrl(DEFAULT_GATEWAY_URL)
    base_url: Annotated[
        AnyHttpUrl | None,
        Field(description="External URL of the platform (default: https://<host>)"),
    ] = None
    ingress_flavour: IngressFlavour = IngressFlavour.NGINX
    ingress_class_name: Annotated[
        str, Field(description="IngressClass of the ingress-nginx controller")
    ] = "nginx"
    tls_secret_name: Annotated[
        str | None, Field(description="Default Secret with the host's certificate")
    ] = None
    tls: Annotated[
        bool | None,
        Field(
            description=(
                "Whether Ingresses list their host under tls; without a Secret"
                " ingress-nginx serves its default certificate (default: when"
                " the external URL is https)"
            )
        ),
    ] = None
    gateway_api: GatewayApiSettings = GatewayApiSettings()
    admin_token: Annotated[
        SecretStr | None,
        Field(description="Gateway token with admin:token, for ServiceTokens"),
    ] = None
    token_check_interval: Annotated[
        timedelta,
        Field(description="How often each ServiceToken's token is checked"),
    ] = timedelta(minutes=10)
    resync_seconds: Annotated[
        int,
        Field(
            gt=0,
            description=(
                "How often each PlatformIngress's objects are compared with what"
                " it wants, and put back if someone edited them (seconds)"
            ),
        ),
    ] = 300
    namespaces: Annotated[
        list[str],
        Field(
            default_factory=list,
            description="Namespaces to watch (empty: the whole cluster)",
        ),
    ]
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    log_json: Annotated[
        bool, Field(description="Log JSON lines (production) instead of console lines")
    ] = True

    @property
    def external_url(self) -> str:
        """``scheme://host`` of the platform, without a trailing slash."""
        if self.base_url is not None:
            return str(self.base_url).rstrip("/")
        return f"https://{self.host}"

    @property
    def serves_tls(self) -> bool:
        """Whether routes are served over TLS (``tls``, else by the URL scheme)."""
        if self.tls is not None:
            return self.tls
        return self.external_url.startswith("https://")


def load_operator_settings() -> OperatorSettings:
    """The operator's settings, or a :class:`ConfigurationError` naming problems."""
    return load_settings(OperatorSettings, "operator settings")
