"""Command-line interface: ``rsp-platform``."""

from __future__ import annotations

import json

import click
import yaml

from .routes import (
    DEFAULT_GATEWAY_URL,
    ENABLED_SERVICES,
    ROUTE_TABLE,
    auth_url,
    describe_route,
)

__all__ = ["main"]


@click.group()
def main() -> None:
    """The science platform's shared tooling: routes, ingress, local development."""


@main.command()
@click.option(
    "--service",
    "service_name",
    default=None,
    help="Only the routes this service serves (whether enabled or not).",
)
@click.option(
    "--all",
    "all_services",
    is_flag=True,
    help="Routes of every declared service, not only the enabled ones.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "yaml", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--gateway-url",
    default=DEFAULT_GATEWAY_URL,
    show_default=True,
    help="Base URL under which the ingress reaches the gateway.",
)
def routes(
    service_name: str | None,
    *,
    all_services: bool,
    output_format: str,
    gateway_url: str,
) -> None:
    """Print the route table (the source of every ingress)."""
    if service_name is not None:
        try:
            selected = ROUTE_TABLE.for_service(service_name)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--service") from None
    elif all_services:
        selected = ROUTE_TABLE.routed({s.name for s in ROUTE_TABLE.services})
    else:
        selected = ROUTE_TABLE.routed(ENABLED_SERVICES)
    if output_format == "table":
        for route in selected:
            target = auth_url(route, "") or route.access.value
            click.echo(f"{route.path:<28} {route.service:<11} {target}")
        return
    data = [describe_route(ROUTE_TABLE, r, gateway_url) for r in selected]
    if output_format == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
