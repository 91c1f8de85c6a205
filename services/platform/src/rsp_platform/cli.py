"""Command-line interface: ``rsp-platform``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from .dev import DevEnvironment, DevError
from .dev import run as run_dev
from .environments.cli import env
from .nginx import (
    NginxError,
    NginxSettings,
    check_nginx_config,
    default_worker_user,
    render_nginx_config,
    write_nginx_config,
)
from .routes import (
    DEFAULT_GATEWAY_URL,
    ENABLED_SERVICES,
    ROUTE_TABLE,
    RouteTableError,
    auth_url,
    describe_route,
    platform_ingress_entry,
)

__all__ = ["main"]


_PLATFORM_INGRESS_HEADER = (
    "# Generated from the platform's route table (rsp_platform.routes) by\n"
    "# `rsp-platform routes --service NAME --format platformingress`: do not edit.\n"
)


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
    type=click.Choice(["table", "yaml", "json", "platformingress"]),
    default="table",
    show_default=True,
    help=(
        "yaml/json: each route with its auth URL and ingress-nginx annotations;"
        " platformingress: the PlatformIngress specs the charts vendor (as"
        " declared, anonymous sub-paths not expanded, internal routes left out)."
    ),
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
    expand = output_format != "platformingress"
    if service_name is not None:
        try:
            selected = ROUTE_TABLE.for_service(service_name, expand=expand)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--service") from None
    elif all_services:
        selected = ROUTE_TABLE.routed(
            {s.name for s in ROUTE_TABLE.services}, expand=expand
        )
    else:
        selected = ROUTE_TABLE.routed(ENABLED_SERVICES, expand=expand)
    if output_format == "platformingress":
        entries = [
            platform_ingress_entry(ROUTE_TABLE, r) for r in selected if not r.internal
        ]
        click.echo(_PLATFORM_INGRESS_HEADER, nl=False)
        click.echo(yaml.safe_dump(entries, sort_keys=False), nl=False)
        return
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


@main.command()
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".dev/nginx"),
    show_default=True,
    help="Directory of nginx.conf, pid, logs and temporary files.",
)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--gateway", default="127.0.0.1:8001", show_default=True)
@click.option(
    "--enable",
    "enabled",
    multiple=True,
    help="Route this service too (repeatable); the gateway is always routed.",
)
@click.option("--stdout", "to_stdout", is_flag=True, help="Print, do not write.")
@click.option("--check", is_flag=True, help="Run nginx -t on the written file.")
def nginx(
    prefix: Path,
    port: int,
    gateway: str,
    enabled: tuple[str, ...],
    *,
    to_stdout: bool,
    check: bool,
) -> None:
    """Render the local ingress (nginx) configuration from the route table."""
    settings = NginxSettings(
        prefix=prefix,
        port=port,
        enabled=ENABLED_SERVICES | set(enabled),
        upstreams={"gateway": gateway},
        worker_user=default_worker_user(),
    )
    try:
        if to_stdout:
            click.echo(render_nginx_config(settings), nl=False)
            return
        path = write_nginx_config(settings)
        if check:
            check_nginx_config(settings)
    except (RouteTableError, NginxError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path}")


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    envvar="RSP_DEV_PORT",
    default=8000,
    show_default=True,
    help="Port of the platform (env RSP_DEV_PORT).",
)
@click.option(
    "--gateway-port",
    type=click.IntRange(1, 65535),
    envvar="RSP_DEV_GATEWAY_PORT",
    default=8001,
    show_default=True,
    help="Port of the gateway behind nginx (env RSP_DEV_GATEWAY_PORT).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".dev"),
    show_default=True,
    help="Where secrets, configuration, database and logs are kept.",
)
def dev(port: int, gateway_port: int, state_dir: Path) -> None:
    """Run the platform on this machine: gateway behind nginx, until Ctrl-C."""
    if port == gateway_port:
        raise click.BadParameter("must differ from --gateway-port", param_hint="--port")
    env = DevEnvironment(state_dir=state_dir, port=port, gateway_port=gateway_port)
    try:
        code = run_dev(env)
    except (DevError, NginxError, RouteTableError) as e:
        raise click.ClickException(str(e)) from None
    raise SystemExit(code)


@main.command("lab-env")
@click.option(
    "--venv",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".dev/lab/venv"),
    show_default=True,
    help="The virtual environment local labs run from.",
)
@click.option(
    "--requirements",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("images/lab/requirements.txt"),
    show_default=True,
    help="The lab lock (the lab image installs the same file).",
)
@click.option("--force", is_flag=True, help="Rebuild even when the venv is current.")
def lab_env(venv: Path, requirements: Path, *, force: bool) -> None:
    """Build the lab environment from the lab lock (fast when it is current)."""
    from .labenv import LabEnvironmentError, build_lab_environment  # noqa: PLC0415

    try:
        built = build_lab_environment(venv, requirements, force=force)
    except LabEnvironmentError as e:
        raise click.ClickException(str(e)) from None
    state = "built" if built.rebuilt else "current"
    click.echo(f"{built.venv} ({state}, lock {built.digest[:12]})")


@main.command("chart-readme")
@click.argument(
    "charts",
    nargs=-1,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
@click.option("--check", is_flag=True, help="Only fail if a table is out of date.")
def chart_readme(charts: tuple[Path, ...], *, check: bool) -> None:
    """Write (or check) the values table in each chart's README.md.

    Without CHARTS, every chart under charts/ that has a README.md.
    """
    from .chartdocs import update_readme  # noqa: PLC0415

    dirs = list(charts) or sorted(p.parent for p in Path("charts").glob("*/README.md"))
    stale = []
    for chart in dirs:
        if not (chart / "values.yaml").is_file() or not (chart / "README.md").is_file():
            raise click.ClickException(f"{chart}: no values.yaml and README.md")
        if not update_readme(chart, check=check):
            stale.append(chart)
            if not check:
                click.echo(f"wrote {chart / 'README.md'}")
    if check and stale:
        names = ", ".join(str(c / "README.md") for c in stale)
        raise click.ClickException(
            f"out of date: {names} (run rsp-platform chart-readme)"
        )


main.add_command(env)
