"""Configuration of the TAP service: one pydantic settings model.

Values come from the YAML file(s) named by ``RSP_TAP_CONFIG_PATH``
(colon-separated, merged in order; :mod:`rsp_platform.settings`) and are
overridden by ``RSP_TAP_*`` environment variables (nested fields with ``__``,
e.g. ``RSP_TAP_RESULT_STORAGE__BUCKET``). Unknown keys are refused and every
problem is reported at start-up with the field it concerns.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict
from rsp_platform.settings import PlatformSettings, load_settings

__all__ = [
    "PATH_PREFIX",
    "Config",
    "GcsResultStorage",
    "LocalResultStorage",
    "load_config",
]

CONFIG_PATH_ENV = "RSP_TAP_CONFIG_PATH"

PATH_PREFIX = "/api/tap"
"""Where the service is served (the ingress does not rewrite paths)."""


class LocalResultStorage(BaseModel):
    """Results in a local directory, served by the service itself (``make dev``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["local"] = "local"
    path: Annotated[Path, Field(description="Directory of the result files")]


class GcsResultStorage(BaseModel):
    """Results in a Google Cloud Storage bucket, handed out as signed URLs."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["gcs"] = "gcs"
    bucket: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$",
            description="Bucket name",
        ),
    ]
    prefix: Annotated[
        str,
        Field(pattern=r"^[A-Za-z0-9._/-]{0,200}$", description="Object name prefix"),
    ] = "tap-results/"
    url_lifetime: Annotated[
        timedelta, Field(description="Lifetime of a signed result URL")
    ] = timedelta(minutes=15)
    service_account_email: Annotated[
        str | None,
        Field(
            description=(
                "Service account that signs URLs through the IAM API when the"
                " credentials hold no private key (GKE workload identity)"
            )
        ),
    ] = None


class Config(PlatformSettings):
    """All settings of the TAP service."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_TAP_",
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
        AnyHttpUrl,
        Field(description="External URL of the platform, scheme and host (and port)"),
    ] = AnyHttpUrl("http://localhost:8000")
    database_url: Annotated[
        SecretStr,
        Field(
            description=(
                "SQLAlchemy URL of the job store, the service's own role:"
                " postgresql+asyncpg://..."
            )
        ),
    ]
    database_pool_size: Annotated[
        int, Field(ge=1, le=100, description="Job store connections per process")
    ] = 5
    query_database_url: Annotated[
        SecretStr,
        Field(
            description=(
                "PostgreSQL URL of the catalogs with the read-only query role:"
                " postgresql://..."
            )
        ),
    ]
    query_pool_size: Annotated[
        int, Field(ge=1, le=100, description="Query connections per process")
    ] = 8
    narrow_projections: Annotated[
        bool,
        Field(
            description=(
                "Read a catalog table from its narrow projection (found at"
                " start-up) when a query uses only columns it holds"
            )
        ),
    ] = True
    max_concurrent_queries: Annotated[
        int,
        Field(ge=1, le=1000, description="Queries (sync and async) run at once"),
    ] = 4
    maxrec_default: Annotated[
        int, Field(ge=0, description="Rows returned when MAXREC is not given")
    ] = 100_000
    maxrec_limit: Annotated[
        int, Field(ge=1, description="Hard limit: MAXREC above it is refused")
    ] = 5_000_000
    sync_timeout: Annotated[
        timedelta, Field(description="Run time of a sync query before it is stopped")
    ] = timedelta(seconds=60)
    execution_duration_default: Annotated[
        timedelta, Field(description="Run time given to a new async job")
    ] = timedelta(minutes=10)
    execution_duration_max: Annotated[
        timedelta, Field(description="Most run time an async job may ask for")
    ] = timedelta(hours=2)
    destruction_default: Annotated[
        timedelta, Field(description="How long after creation a job is destroyed")
    ] = timedelta(days=7)
    destruction_max: Annotated[
        timedelta, Field(description="Latest destruction a user may ask for")
    ] = timedelta(days=30)
    wait_max: Annotated[
        timedelta, Field(description="Longest blocking WAIT on a job")
    ] = timedelta(seconds=60)
    cleanup_interval: Annotated[
        timedelta, Field(description="How often destroyed jobs are deleted")
    ] = timedelta(minutes=5)
    result_storage: Annotated[
        LocalResultStorage | GcsResultStorage,
        Field(discriminator="type", description="Where async results are kept"),
    ]
    upload_max_bytes: Annotated[
        int, Field(ge=1, description="Largest uploaded table (bytes)")
    ] = 32 * 1024 * 1024
    upload_max_rows: Annotated[
        int, Field(ge=1, description="Most rows of one uploaded table")
    ] = 200_000
    upload_max_tables: Annotated[
        int, Field(ge=1, le=100, description="Most tables in one UPLOAD")
    ] = 8
    upload_url_timeout: Annotated[
        timedelta, Field(description="Time allowed to fetch an upload by URL")
    ] = timedelta(seconds=30)
    default_user: Annotated[
        str | None,
        Field(
            pattern=r"^[a-z0-9_][a-z0-9_.-]{0,63}$",
            description=(
                "User assumed when X-Auth-Request-User is absent (tests and"
                " local only, e.g. for stilts taplint which sends no token)"
            ),
        ),
    ] = None
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

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.maxrec_default > self.maxrec_limit:
            raise ValueError("maxrec_default must not exceed maxrec_limit")
        if self.execution_duration_default > self.execution_duration_max:
            raise ValueError(
                "execution_duration_default must not exceed execution_duration_max"
            )
        if self.destruction_default > self.destruction_max:
            raise ValueError("destruction_default must not exceed destruction_max")
        for name in ("sync_timeout", "execution_duration_max", "wait_max"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        if self.default_user is not None and self.environment != "local":
            raise ValueError("default_user is allowed only when environment is 'local'")
        return self

    @property
    def service_url(self) -> str:
        """Absolute URL of the TAP service, ``<base>/api/tap``."""
        return str(self.base_url).rstrip("/") + PATH_PREFIX

    upload_url_allow_private_networks: Annotated[
        bool,
        Field(
            description=(
                "Fetch uploads by URL from loopback, private and link-local"
                " addresses too (tests and local development only; cloud"
                " metadata services stay refused)"
            )
        ),
    ] = False

    @field_validator("upload_url_allow_private_networks")
    @classmethod
    def _private_uploads_only_locally(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("environment") != "local":
            raise ValueError("allowed only when environment is 'local'")
        return value


def load_config() -> Config:
    """Load and validate the configuration, failing with a readable message.

    Raises
    ------
    ConfigurationError
        Listing every invalid field, its location and why, or naming a
        missing file of ``RSP_TAP_CONFIG_PATH``.
    """
    return load_settings(Config, "TAP configuration")
