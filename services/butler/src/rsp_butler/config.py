"""Configuration of our additions to the Butler server: one settings model.

The Butler server itself (``lsst.daf.butler.remote_butler.server``) reads
its own ``DAF_BUTLER_SERVER_*`` variables: the repositories it serves, the
gateway's URL for group look-ups, the authentication mode and the directory
served under ``/api/butler/configs`` (where the repository index is). This
model holds only what we add: signed download URLs for repositories whose
files are on local disk (``make dev``). In production the datastore is in
object storage, which signs its own URLs, and these settings stay unset.

Values come from ``RSP_BUTLER_*`` environment variables, or the YAML file(s)
named by ``RSP_BUTLER_CONFIG_PATH`` (colon-separated; the sources and the
start-up message are those of :mod:`rsp_platform.settings`).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rsp_platform.settings import ConfigurationError, PlatformSettings, load_settings

__all__ = ["CONFIG_PATH_ENV", "Config", "ConfigurationError", "load_config"]

CONFIG_PATH_ENV = "RSP_BUTLER_CONFIG_PATH"
"""Environment variable naming the YAML configuration file(s)."""


class Config(PlatformSettings):
    """Signed download URLs for repositories on local disk."""

    model_config = SettingsConfigDict(
        env_prefix="RSP_BUTLER_", extra="forbid", validate_default=True
    )
    config_path_env = CONFIG_PATH_ENV

    files_url: Annotated[
        AnyHttpUrl | None,
        Field(
            description=(
                "External URL of the signed file route, e.g."
                " http://localhost:8000/api/butler/files (unset: no local signing)"
            )
        ),
    ] = None
    signing_key: Annotated[
        SecretStr | None,
        Field(
            min_length=32,
            description="Secret key of the HMAC signing download URLs",
        ),
    ] = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.files_url is None) != (self.signing_key is None):
            raise ValueError("files_url and signing_key are set together or not at all")
        return self

    @property
    def signs_files(self) -> bool:
        """Whether local files are handed out as signed URLs."""
        return self.files_url is not None


def load_config() -> Config:
    """Load and validate the configuration, failing with a readable message.

    Raises
    ------
    ConfigurationError
        Listing every invalid field and why, or naming a missing file of
        ``RSP_BUTLER_CONFIG_PATH``.
    """
    return load_settings(Config, "Butler server configuration")
