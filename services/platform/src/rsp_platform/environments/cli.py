"""``rsp-platform env``: list, lint, render and inspect the environments.

Thin commands over :mod:`.layout` (the files), :mod:`.umbrella` (Helm) and
:mod:`.checks` (lint). Exit status 0 on success, 1 when an environment has
problems or cannot be rendered (each problem on its own line), 2 for a
command-line mistake (click's usage errors).
"""

from __future__ import annotations

from pathlib import Path

import click

from .checks import CHECKS, LintProblem, lint_environment
from .layout import Environment, EnvironmentFileError, PlatformLayout
from .manifests import dump_objects
from .model import SERVICES
from .schema import stale_schemas, write_schemas
from .umbrella import RenderError, UmbrellaChart

__all__ = ["env"]


def _layout(ctx: click.Context) -> PlatformLayout:
    layout: PlatformLayout = ctx.obj
    return layout


def _umbrella(layout: PlatformLayout) -> UmbrellaChart:
    try:
        import helm_python  # noqa: F401, PLC0415 - a clear message if it is missing
    except ImportError:
        raise click.ClickException(
            "Helm's engine is not installed: install rsp-platform[environments]"
            " (the helm-python-sdk package)"
        ) from None
    try:
        return UmbrellaChart(layout)
    except EnvironmentFileError as e:
        raise click.ClickException(str(e)) from None


def _environment(layout: PlatformLayout, name: str) -> Environment:
    try:
        return layout.environment(name)
    except EnvironmentFileError as e:
        raise click.ClickException(str(e)) from None


@click.group("env")
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Checkout holding charts/ and environments/ (default: found upwards"
    " from the working directory).",
)
@click.pass_context
def env(ctx: click.Context, root: Path | None) -> None:
    """The platform's environments: environments/values-<name>.yaml."""
    try:
        ctx.obj = PlatformLayout.of(root) if root else PlatformLayout.find()
    except EnvironmentFileError as e:
        raise click.ClickException(str(e)) from None


@env.command("list")
@click.pass_context
def list_environments(ctx: click.Context) -> None:
    """List the environments with their host."""
    layout = _layout(ctx)
    try:
        environments = layout.environments()
    except EnvironmentFileError as e:
        raise click.ClickException(str(e)) from None
    if not environments:
        raise click.ClickException(
            f"no values-<name>.yaml in {layout.environments_dir}"
        )
    for environment in environments:
        host = (environment.values.get("global") or {}).get("host", "?")
        click.echo(f"{environment.name:<12} {host}")


@env.command()
@click.argument("name", required=False)
@click.option("--all", "all_environments", is_flag=True, help="Lint every environment.")
@click.pass_context
def lint(ctx: click.Context, name: str | None, *, all_environments: bool) -> None:
    """Lint one environment (NAME) or all of them (--all).

    Checks: values (the environment model, unknown keys refused), charts
    (every enabled service has one), helm (helm lint --strict), routes (no
    route asking for scopes without one) and secrets (no secret value).
    """
    if (name is None) == (not all_environments):
        raise click.UsageError("give an environment NAME or --all, not both")
    layout = _layout(ctx)
    umbrella = _umbrella(layout)
    names = layout.names() if all_environments else [name or ""]
    if not names:
        raise click.ClickException(
            f"no values-<name>.yaml in {layout.environments_dir}"
        )
    failed = 0
    for each in names:
        try:
            problems = lint_environment(layout.environment(each), umbrella)
        except EnvironmentFileError as e:
            if not all_environments:
                raise click.ClickException(str(e)) from None
            problems = [LintProblem(each, "values", str(e))]
        for problem in problems:
            click.echo(str(problem), err=True)
        if problems:
            failed += 1
        else:
            click.echo(f"{each}: ok ({', '.join(CHECKS)})")
    if failed:
        raise click.ClickException(
            f"{failed} of {len(names)} environment(s) have problems"
        )


@env.command()
@click.argument("name")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one file per object under DIR/<namespace>/ instead of printing.",
)
@click.pass_context
def render(ctx: click.Context, name: str, output: Path | None) -> None:
    """Render an environment with Helm, as `helm template` would."""
    layout = _layout(ctx)
    environment = _environment(layout, name)
    problems = environment.validation_problems()
    if problems:
        raise click.ClickException(
            f"{environment.path.name} is invalid:\n  " + "\n  ".join(problems)
        )
    try:
        rendered = _umbrella(layout).render(environment.values)
    except RenderError as e:
        raise click.ClickException(f"{name} does not render: {e}") from None
    if output is None:
        click.echo(dump_objects(rendered.objects), nl=False)
        return
    for obj in rendered.objects:
        meta = obj["metadata"]
        directory = output / meta.get("namespace", "_cluster")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{obj['kind'].lower()}-{meta['name']}.yaml"
        path.write_text(dump_objects([obj]))
    click.echo(f"wrote {len(rendered.objects)} objects under {output}")


@env.command()
@click.argument("name")
@click.pass_context
def services(ctx: click.Context, name: str) -> None:
    """Show which services an environment runs, and where."""
    layout = _layout(ctx)
    environment = _environment(layout, name)
    umbrella = _umbrella(layout)
    enabled = {d.name for d in umbrella.enabled(environment.values)}
    defaults = umbrella.default_values()
    for service in SERVICES:
        section = {
            **(defaults.get(service) or {}),
            **(environment.values.get(service) or {}),
        }
        namespace = section.get("namespaceOverride") or "(release namespace)"
        state = "enabled" if service in enabled else "disabled"
        click.echo(f"{service:<10} {state:<9} {namespace}")


@env.command()
@click.option(
    "--check", is_flag=True, help="Only check that the committed schemas are current."
)
@click.pass_context
def schema(ctx: click.Context, *, check: bool) -> None:
    """Write the JSON schemas of environment values from the model."""
    layout = _layout(ctx)
    if check:
        stale = stale_schemas(layout.environments_dir, layout.umbrella_dir)
        if stale:
            names = ", ".join(str(p) for p in stale)
            raise click.ClickException(
                f"out of date: {names} (run rsp-platform env schema)"
            )
        click.echo("schemas are current")
        return
    for path in write_schemas(layout.environments_dir, layout.umbrella_dir):
        click.echo(f"wrote {path}")
