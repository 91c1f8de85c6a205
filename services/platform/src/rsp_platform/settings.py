"""What every service's settings share: where values come from, how errors read.

Each service describes its configuration as a subclass of
:class:`PlatformSettings` and names, in ``config_path_env``, the environment
variable that points at its YAML file(s). Values are taken, highest first,
from constructor arguments, ``<PREFIX>_*`` environment variables and then the
YAML files (colon-separated, merged in order, so a chart can mount several
ConfigMaps). No ``.env`` files and no secret directories: what configures a
pod is explicit in its manifest.

:func:`load_settings` turns a validation failure into one
:class:`ConfigurationError` whose message names every bad field, so that a
service stops at start-up with a readable line instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    YamlConfigSettingsSource,
)

__all__ = [
    "ConfigurationError",
    "PlatformSettings",
    "describe_validation_error",
    "load_settings",
]


class ConfigurationError(RuntimeError):
    """The settings are invalid; the message lists every problem."""


class PlatformSettings(BaseSettings):
    """Base of a service's settings: arguments, environment, then YAML files.

    Subclasses set ``model_config`` (``env_prefix``, ``extra="forbid"``) and
    ``config_path_env``.
    """

    config_path_env: ClassVar[str | None] = None
    """Environment variable naming the YAML file(s), colon-separated."""

    @classmethod
    def config_paths(cls) -> list[Path]:
        """The YAML files named by ``config_path_env``, in merge order."""
        if cls.config_path_env is None:
            return []
        value = os.environ.get(cls.config_path_env, "")
        return [Path(p) for p in value.split(":") if p]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the YAML files."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        paths = cls.config_paths()
        if paths:
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise ConfigurationError(
                    f"{cls.config_path_env} names missing file(s): {', '.join(missing)}"
                )
            for path in paths:
                _check_yaml_file(path)
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=paths))
        return tuple(sources)


def _check_yaml_file(path: Path) -> None:
    """Refuse a settings file that is not YAML or whose top level is no mapping.

    pydantic-settings would raise the parser's exception (a traceback at
    start-up) or silently ignore a list; this names the file instead.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationError(f"cannot read settings file {path}: {e}") from None
    except yaml.YAMLError as e:
        where = ""
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigurationError(
            f"settings file {path} is not valid YAML{where}: {problem}"
        ) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigurationError(
            f"settings file {path} must hold a mapping of settings, not a "
            f"{type(data).__name__}"
        )


def describe_validation_error(error: ValidationError) -> list[str]:
    """One ``field.path: message`` line per problem of a validation error."""
    return [
        f"{'.'.join(str(p) for p in err['loc']) or '(settings)'}: {err['msg']}"
        for err in error.errors()
    ]


def load_settings[T: PlatformSettings](
    settings_cls: type[T], what: str, **overrides: Any
) -> T:
    """Build and validate ``settings_cls``, failing with a readable message.

    Parameters
    ----------
    settings_cls
        The service's settings class.
    what
        How the message names the settings, e.g. ``"gateway configuration"``.
    overrides
        Values that win over the environment and the files.

    Raises
    ------
    ConfigurationError
        Listing every invalid field, its location and why.
    """
    try:
        return settings_cls(**overrides)
    except ValidationError as e:
        lines = "\n".join(f"  {line}" for line in describe_validation_error(e))
        raise ConfigurationError(f"invalid {what}:\n{lines}") from None
