"""Configuration of the gateway: one pydantic settings model.

Values come from the YAML file(s) named by ``RSP_GATEWAY_CONFIG_PATH``
(colon-separated, merged in order) and are overridden by ``RSP_GATEWAY_*``
environment variables (nested fields with ``__``, e.g.
``RSP_GATEWAY_GITHUB__CLIENT_SECRET``). Unknown keys are refused and every
problem is reported at start-up with the field it concerns (the sources and
the message are those of :mod:`rsp_platform.settings`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict
from rsp_platform.scopes import KNOWN_SCOPES
from rsp_platform.settings import PlatformSettings, load_settings

__all__ = [
    "DEFAULT_SCOPES",
    "Config",
    "GitHubConfig",
    "check_ca_file",
    "load_config",
]

CONFIG_PATH_ENV = "RSP_GATEWAY_CONFIG_PATH"

DEFAULT_SCOPES: dict[str, str] = dict(KNOWN_SCOPES)
"""The contract's scopes (one declaration, in :mod:`rsp_platform.scopes`)."""

DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.1/32",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
)
"""Networks whose ``X-Forwarded-For`` is believed unless configured otherwise."""


class GitHubConfig(BaseModel):
    """GitHub OAuth application and the URLs of GitHub itself.

    The URLs are configuration only so that tests can point them at a local
    fake; production uses the defaults.
    """

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[str, Field(min_length=1, description="OAuth App client ID")]
    client_secret: Annotated[SecretStr, Field(description="OAuth App client secret")]
    authorize_url: Annotated[
        AnyHttpUrl, Field(description="GitHub authorization endpoint")
    ] = AnyHttpUrl("https://github.com/login/oauth/authorize")
    token_url: Annotated[AnyHttpUrl, Field(description="GitHub token endpoint")] = (
        AnyHttpUrl("https://github.com/login/oauth/access_token")
    )
    api_url: Annotated[AnyHttpUrl, Field(description="GitHub REST API base URL")] = (
        AnyHttpUrl("https://api.github.com")
    )
    timeout: Annotated[timedelta, Field(description="Timeout of calls to GitHub")] = (
        timedelta(seconds=10)
    )


class Config(PlatformSettings):
    """All settings of the gateway."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_GATEWAY_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )
    config_path_env = CONFIG_PATH_ENV

    environment: Annotated[
        str,
        Field(
            pattern=r"^[a-z][a-z0-9-]*$",
            description="Environment name (idfprod, local, ...)",
        ),
    ] = "local"
    base_url: Annotated[
        AnyHttpUrl, Field(description="External URL of the platform, scheme and host")
    ] = AnyHttpUrl("http://localhost:8000")
    database_url: Annotated[
        SecretStr,
        Field(
            description="SQLAlchemy URL: postgresql+asyncpg://... or sqlite+aiosqlite:///..."
        ),
    ]
    database_pool_size: Annotated[
        int, Field(ge=1, le=100, description="Connections per process")
    ] = 5
    redis_url: Annotated[
        SecretStr | None,
        Field(
            description=(
                "Redis for the shared cache and revocation fan-out;"
                " none: in-process only"
            )
        ),
    ] = None
    redis_prefix: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
            description=(
                "Prefix of the gateway's Redis keys and event channel"
                " (one per deployment)"
            ),
        ),
    ] = "rsp-gateway"
    redis_ca_file: Annotated[
        Path | None,
        Field(
            description=(
                "PEM file of the CA certificate(s) Redis's TLS certificate must"
                " chain to (rediss:// only; none: the system's CAs)"
            )
        ),
    ] = None
    redis_tls_check_hostname: Annotated[
        bool,
        Field(
            description=(
                "Whether Redis's TLS certificate must also name the host of"
                " redis_url (the CA is checked either way)"
            )
        ),
    ] = True
    session_secret: Annotated[
        SecretStr,
        Field(
            min_length=32,
            description="Key that encrypts the session cookie (Fernet key)",
        ),
    ]
    token_hash_key: Annotated[
        SecretStr,
        Field(
            min_length=32,
            description="Key of the HMAC under which token secrets are stored",
        ),
    ]
    bootstrap_token: Annotated[
        SecretStr | None,
        Field(
            description=(
                "Token with admin:token for the operator and first set-up; not stored"
            )
        ),
    ] = None
    github: Annotated[
        GitHubConfig | None, Field(description="GitHub login; none disables it")
    ] = None
    dev_login: Annotated[
        bool,
        Field(
            description=(
                "Development identity provider (type a user and groups); local only"
            )
        ),
    ] = False
    known_scopes: Annotated[
        dict[str, str], Field(description="Every scope and its description")
    ] = DEFAULT_SCOPES
    group_mapping: Annotated[
        dict[str, list[str]],
        Field(default_factory=dict, description="scope -> groups whose members get it"),
    ]
    session_lifetime: Annotated[
        timedelta, Field(description="Lifetime of a browser session")
    ] = timedelta(days=7)
    group_refresh_interval: Annotated[
        timedelta,
        Field(
            description=(
                "How often the groups and scopes of a live GitHub session are"
                " read again from GitHub (0 disables; at least one minute)"
            )
        ),
    ] = timedelta(hours=1)
    notebook_token_lifetime: Annotated[
        timedelta,
        Field(
            description=(
                "Lifetime given to new notebook and internal tokens (capped by parent)"
            )
        ),
    ] = timedelta(days=7)
    history_retention: Annotated[
        timedelta, Field(description="How long token history is kept")
    ] = timedelta(days=365)
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "rsp_session"
    cache_ttl: Annotated[
        timedelta,
        Field(
            description=(
                "How long a token's data is cached in memory (revocation is immediate)"
            )
        ),
    ] = timedelta(minutes=5)
    trusted_proxies: Annotated[
        list[str],
        Field(
            default_factory=lambda: list(DEFAULT_TRUSTED_PROXIES),
            description="Networks whose X-Forwarded-For is believed (CIDR)",
        ),
    ]
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    log_json: Annotated[
        bool, Field(description="Log JSON lines (production) instead of console lines")
    ] = True

    @field_validator("base_url")
    @classmethod
    def _base_url_is_origin(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.path not in (None, "", "/") or value.query or value.fragment:
            raise ValueError("base_url must be only scheme, host and port")
        return value

    @field_validator("redis_ca_file")
    @classmethod
    def _redis_ca_file_holds_certificates(cls, value: Path | None) -> Path | None:
        if value is not None:
            check_ca_file(value)
        return value

    @field_validator("group_refresh_interval")
    @classmethod
    def _refresh_interval_is_sane(cls, value: timedelta) -> timedelta:
        if value and value < timedelta(minutes=1):
            raise ValueError("group_refresh_interval must be 0 or at least one minute")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.dev_login and self.environment != "local":
            raise ValueError("dev_login is allowed only when environment is 'local'")
        if not self.dev_login and self.github is None:
            raise ValueError(
                "no login method: configure github (or dev_login in local)"
            )
        self._check_redis_tls()
        unknown = set(self.group_mapping) - set(self.known_scopes)
        if unknown:
            raise ValueError(
                f"group_mapping names unknown scopes: {', '.join(sorted(unknown))}"
            )
        return self

    def _check_redis_tls(self) -> None:
        """Refuse TLS settings that would not be used or would be overridden.

        redis-py lets ``ssl_*`` query parameters of the URL win over the
        options the gateway passes, so they are refused: certificates are
        always verified with ``rediss://``. Messages never quote the URL,
        which may hold the password.
        """
        if self.redis_url is None:
            if self.redis_ca_file is not None:
                raise ValueError("redis_ca_file is set but redis_url is not")
            return
        url = urlsplit(self.redis_url.get_secret_value())
        if self.redis_ca_file is not None and url.scheme != "rediss":
            raise ValueError(
                "redis_ca_file needs a rediss:// redis_url (TLS); with"
                f" {url.scheme or 'no scheme'}:// it would not be used"
            )
        options = sorted(
            {k for k, _ in parse_qsl(url.query) if k.lower().startswith("ssl")}
        )
        if options:
            raise ValueError(
                f"redis_url must not carry TLS options ({', '.join(options)});"
                " use redis_ca_file and redis_tls_check_hostname"
            )

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the platform, without a trailing slash."""
        return str(self.base_url).rstrip("/")

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie gets ``Secure`` (all but plain-HTTP localhost)."""
        return not (
            self.base_url.scheme == "http"
            and self.base_url.host in ("localhost", "127.0.0.1")
        )


def check_ca_file(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM file of CAs, refusing one that has none.

    Raises
    ------
    ValueError
        If the file is missing, unreadable, or holds no PEM certificate or
        one that does not parse.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a PEM file") from None
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ValueError(f"{path} holds no PEM certificate (BEGIN CERTIFICATE)")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path} holds a PEM block that is no certificate") from None


def load_config() -> Config:
    """Load and validate the configuration, failing with a readable message.

    Raises
    ------
    ConfigurationError
        Listing every invalid field, its location and why, or naming a
        missing file of ``RSP_GATEWAY_CONFIG_PATH``.
    """
    return load_settings(Config, "gateway configuration")
