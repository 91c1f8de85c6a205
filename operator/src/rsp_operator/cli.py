"""Command-line interface: ``rsp-operator``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
import kopf
import yaml
from rsp_platform.settings import ConfigurationError

from .config import OperatorSettings, load_operator_settings
from .ingress.model import MalformedResourceError, parse_platform_ingress
from .ingress.render import check_ingress_settings, desired_objects
from .log import configure_operator_logging

__all__ = ["main"]


def _settings() -> OperatorSettings:
    """The validated settings, or a one-message exit naming what is wrong."""
    try:
        settings = load_operator_settings()
        check_ingress_settings(settings)
    except ConfigurationError as e:
        raise click.ClickException(str(e)) from None
    return settings


@click.group()
def main() -> None:
    """The platform's Kubernetes operator (PlatformIngress, ServiceToken)."""


@main.command()
@click.option(
    "--liveness",
    default="http://0.0.0.0:8080/healthz",
    show_default=True,
    help="URL kopf serves its liveness probe on ('' for none).",
)
@click.option(
    "--standalone/--peering",
    default=True,
    show_default=True,
    help="Run alone (one replica) or coordinate replicas through kopf peering.",
)
def run(liveness: str, standalone: bool) -> None:
    """Validate the settings, then reconcile the resources until stopped."""
    settings = _settings()
    configure_operator_logging(settings)
    from . import main as entry  # noqa: PLC0415  (registers the handlers)

    namespaces = list(settings.namespaces)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=standalone,
            liveness_endpoint=liveness or None,
            memo=kopf.Memo(settings=settings),
            registry=entry.kopf_registry(),
        )
    )


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def render(path: Path) -> None:
    """Print the ingress objects the PlatformIngress resources in PATH become."""
    settings = _settings()
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    out = []
    for document in documents:
        try:
            resource = parse_platform_ingress(
                {**document, "metadata": {"uid": "", **document.get("metadata", {})}}
            )
            out.extend(desired_objects(resource, settings))
        except (MalformedResourceError, ConfigurationError) as e:
            name = document.get("metadata", {}).get("name", "?")
            raise click.ClickException(f"PlatformIngress {name}: {e}") from None
    click.echo(yaml.safe_dump_all(out, sort_keys=False), nl=False)
