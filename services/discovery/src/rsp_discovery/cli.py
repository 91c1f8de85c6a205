"""Command-line interface: ``rsp-discovery``."""

from __future__ import annotations

import json

import click

from .config import ConfigurationError, load_config
from .discovery import build_discovery

__all__ = ["main"]


@click.group()
def main() -> None:
    """Service discovery of the science platform."""


@main.command()
@click.option(
    "--nublado",
    is_flag=True,
    help="The reduced document a lab reads from its discovery file.",
)
def document(*, nublado: bool) -> None:
    """Print the discovery document of the configured environment (JSON)."""
    try:
        discovery = build_discovery(load_config())
    except ConfigurationError as e:
        raise click.ClickException(str(e)) from None
    if nublado:
        data = discovery.to_nublado_dict()
    else:
        data = discovery.model_dump(mode="json", exclude_none=True)
    click.echo(json.dumps(data, indent=2, sort_keys=True))
