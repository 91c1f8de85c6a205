"""Where the platform's charts and environments are, and the environment files.

A checkout holds ``charts/<service>`` (the service charts),
``charts/science-platform`` (the umbrella chart) and
``environments/values-<name>.yaml`` (one file per environment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..settings import describe_validation_error
from .manifests import load_values
from .model import EnvironmentValues

__all__ = [
    "UMBRELLA_CHART",
    "Environment",
    "EnvironmentFileError",
    "PlatformLayout",
]

UMBRELLA_CHART = "science-platform"
"""Directory name of the umbrella chart under ``charts/``."""

_FILE = re.compile(r"^values-(?P<name>[a-z][a-z0-9-]*)\.yaml$")


class EnvironmentFileError(Exception):
    """An environment cannot be found or read; the message says which and why."""


@dataclass(frozen=True)
class Environment:
    """One environment's values file, as written."""

    name: str
    """Name of the environment (``idfprod``), from the file name."""

    path: Path
    """The file, ``environments/values-<name>.yaml``."""

    values: dict[str, Any]
    """The file's values, unvalidated."""

    def validate(self) -> EnvironmentValues:
        """The values as the model reads them.

        Raises
        ------
        EnvironmentFileError
            Listing every unknown key and invalid value, with its location.
        """
        try:
            return EnvironmentValues.model_validate(self.values)
        except ValidationError as e:
            problems = "\n".join(f"  {p}" for p in describe_validation_error(e))
            raise EnvironmentFileError(
                f"{self.path.name}: invalid values:\n{problems}"
            ) from None

    def validation_problems(self) -> list[str]:
        """Every problem :meth:`validate` would report, one line each."""
        try:
            EnvironmentValues.model_validate(self.values)
        except ValidationError as e:
            return describe_validation_error(e)
        return []


@dataclass(frozen=True)
class PlatformLayout:
    """The directories of a checkout that environments are built from."""

    charts_dir: Path
    """``charts/``: the service charts and the umbrella chart."""

    environments_dir: Path
    """``environments/``: one values file per environment."""

    @classmethod
    def of(cls, root: Path) -> PlatformLayout:
        """The layout of the checkout at ``root``."""
        return cls(charts_dir=root / "charts", environments_dir=root / "environments")

    @classmethod
    def find(cls, start: Path | None = None) -> PlatformLayout:
        """The layout of the checkout holding ``start`` (default: the cwd).

        Raises
        ------
        EnvironmentFileError
            If no directory from ``start`` upwards has the umbrella chart.
        """
        here = (start or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            if (directory / "charts" / UMBRELLA_CHART / "Chart.yaml").is_file():
                return cls.of(directory)
        raise EnvironmentFileError(
            f"no charts/{UMBRELLA_CHART}/Chart.yaml in {here} or above:"
            " run from a checkout of the platform, or pass --root"
        )

    @property
    def umbrella_dir(self) -> Path:
        """The umbrella chart's directory."""
        return self.charts_dir / UMBRELLA_CHART

    def names(self) -> list[str]:
        """Names of the environments that have a values file, sorted."""
        return sorted(
            match["name"]
            for path in self.environments_dir.glob("values-*.yaml")
            if (match := _FILE.match(path.name)) is not None
        )

    def environments(self) -> list[Environment]:
        """Every environment, sorted by name.

        Raises
        ------
        EnvironmentFileError
            If a values file does not parse as a YAML mapping.
        """
        found = []
        for path in sorted(self.environments_dir.glob("values-*.yaml")):
            match = _FILE.match(path.name)
            if match is not None:
                found.append(self._read(match["name"], path))
        return found

    def environment(self, name: str) -> Environment:
        """The environment called ``name``.

        Raises
        ------
        EnvironmentFileError
            If it has no values file (naming those that exist) or the file
            does not parse.
        """
        path = self.environments_dir / f"values-{name}.yaml"
        if not _FILE.match(path.name) or not path.is_file():
            known = ", ".join(e.name for e in self.environments()) or "none"
            raise EnvironmentFileError(
                f"no environment {name!r} in {self.environments_dir}"
                f" (environments: {known})"
            )
        return self._read(name, path)

    @staticmethod
    def _read(name: str, path: Path) -> Environment:
        try:
            values = load_values(path)
        except ValueError as e:
            raise EnvironmentFileError(str(e)) from None
        return Environment(name=name, path=path, values=values)
