"""Command-line interface: ``rsp-butler``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import yaml
from rsp_platform.repositories import REPOSITORY_INDEX_PATH, repository_index

__all__ = ["main"]


@click.group()
def main() -> None:
    """The platform's Butler data: the sample repository and its index."""


@main.command("make-repo")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--registry",
    default="sqlite",
    show_default=True,
    help="'sqlite' (a file in PATH) or a database URL (postgresql://...).",
)
@click.option(
    "--datastore-root",
    default=None,
    help="Where files go, e.g. s3://bucket/dp01 (default: PATH, local disk).",
)
@click.option(
    "--catalog-scale",
    type=click.IntRange(min=0),
    default=None,
    help="Objects of the TAP catalog the object tables are cut from"
    " (the scale given to 'rsp-tap load'; default: make dev's).",
)
@click.option(
    "--catalog-seed",
    type=int,
    default=None,
    help="Seed of that TAP catalog (default: the generator's).",
)
@click.option(
    "--exist-ok",
    is_flag=True,
    help="Succeed without doing anything if PATH already holds a repository.",
)
def make_repo(
    path: Path,
    registry: str,
    datastore_root: str | None,
    catalog_scale: int | None,
    catalog_seed: int | None,
    *,
    exist_ok: bool,
) -> None:
    """Create the deterministic sample dp01 repository at PATH."""
    from .repository import RepositoryError, SampleSpec, make_repository  # noqa: PLC0415

    spec = SampleSpec()
    if catalog_scale is not None:
        spec = dataclasses.replace(spec, catalog_scale=catalog_scale)
    if catalog_seed is not None:
        spec = dataclasses.replace(spec, catalog_seed=catalog_seed)

    if exist_ok and (path / "butler.yaml").exists():
        click.echo(f"{path}: repository exists")
        return
    try:
        count = make_repository(
            path,
            registry=None if registry == "sqlite" else registry,
            datastore_root=datastore_root,
            spec=spec,
        )
    except RepositoryError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{path}: {count} datasets")


@main.command("write-index")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", required=True, help="External URL of the platform.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    default=("dp01",),
    show_default=True,
    help="Repository label (repeatable).",
)
def write_index(directory: Path, base_url: str, labels: tuple[str, ...]) -> None:
    """Write the repository index served at /api/butler/configs/repositories.yaml."""
    name = Path(REPOSITORY_INDEX_PATH).name
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    target.write_text(yaml.safe_dump(repository_index(base_url, labels)))
    click.echo(str(target))
