"""Configuration of service discovery: one pydantic settings model.

Values come from the YAML file(s) named by ``RSP_DISCOVERY_CONFIG_PATH``
(colon-separated, merged in order; :mod:`rsp_platform.settings`) and are
overridden by ``RSP_DISCOVERY_*`` environment variables (nested fields with
``__``). Unknown keys are refused and every problem is reported at start-up
with the field it concerns.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict
from rsp_platform.routes import ROUTE_TABLE
from rsp_platform.settings import ConfigurationError, PlatformSettings, load_settings

__all__ = [
    "CONFIG_PATH_ENV",
    "Config",
    "ConfigurationError",
    "DatasetConfig",
    "load_config",
]

CONFIG_PATH_ENV = "RSP_DISCOVERY_CONFIG_PATH"
"""Environment variable naming the YAML configuration file(s)."""

DATA_SERVICES = frozenset({"tap"})
"""Data services a dataset may list (names of the discovery contract)."""


class DatasetConfig(BaseModel):
    """A dataset of the environment and the services that serve it."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[
        str | None, Field(description="Long description of the dataset")
    ] = None
    docs_url: Annotated[
        AnyHttpUrl | None, Field(description="Documentation of the dataset")
    ] = None
    butler: Annotated[
        bool,
        Field(
            description=(
                "Whether the Butler server serves a repository with the"
                " dataset's label (its butler_config is then listed)"
            )
        ),
    ] = True
    services: Annotated[
        list[str],
        Field(description="Data services of the dataset (tap)"),
    ] = ["tap"]

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - DATA_SERVICES)
        if unknown:
            known = ", ".join(sorted(DATA_SERVICES))
            raise ValueError(f"unknown data services {unknown} (known: {known})")
        return value


def _default_datasets() -> dict[str, DatasetConfig]:
    return {
        "dp01": DatasetConfig(
            description=(
                "Data Preview 0.1: DC2 simulated images and catalogs (synthetic sample)"
            ),
        )
    }


def _declared_services() -> list[str]:
    return [s.name for s in ROUTE_TABLE.services]


class Config(PlatformSettings):
    """Everything service discovery needs to describe the environment."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_DISCOVERY_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )
    config_path_env = CONFIG_PATH_ENV

    base_url: Annotated[
        AnyHttpUrl,
        Field(description="External URL of the platform (scheme and host)"),
    ]
    environment: Annotated[
        str,
        Field(
            pattern=r"^[a-z][a-z0-9-]*$",
            description="Environment name (idfprod, idfint, idfdev, local)",
        ),
    ] = "local"
    environment_name: Annotated[
        str | None,
        Field(description="Human-readable name of the environment (default: host)"),
    ] = None
    title: Annotated[str, Field(description="Short title of the environment")] = (
        "Science Platform"
    )
    docs_url: Annotated[
        AnyHttpUrl | None,
        Field(description="Documentation of the environment (default: base URL)"),
    ] = None
    enabled_services: Annotated[
        list[str],
        Field(
            description=(
                "Services of the route table that run in the environment; only"
                " they are listed"
            )
        ),
    ] = Field(default_factory=_declared_services)
    datasets: Annotated[
        dict[str, DatasetConfig],
        Field(description="Datasets of the environment, by label"),
    ] = Field(default_factory=_default_datasets)
    log_level: Annotated[
        str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="Log level")
    ] = "INFO"

    @field_validator("base_url")
    @classmethod
    def _no_path(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.path not in (None, "", "/") or value.query or value.fragment:
            raise ValueError("must be scheme and host only, e.g. https://example.org")
        return value

    @field_validator("enabled_services")
    @classmethod
    def _declared(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(_declared_services()))
        if unknown:
            raise ValueError(
                f"services {unknown} are not in the route table"
                f" (declared: {', '.join(_declared_services())})"
            )
        return value

    @model_validator(mode="after")
    def _dataset_labels(self) -> Self:
        for label in self.datasets:
            if not label or not label.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"dataset label {label!r} must be alphanumeric")
        return self

    @property
    def external_url(self) -> str:
        """The base URL without a trailing slash."""
        return str(self.base_url).rstrip("/")


def load_config() -> Config:
    """Load and validate the configuration, failing with a readable message.

    Raises
    ------
    ConfigurationError
        Listing every invalid field, its location and why, or naming a
        missing file of ``RSP_DISCOVERY_CONFIG_PATH``.
    """
    return load_settings(Config, "discovery configuration")
