"""The local ingress: an nginx configuration rendered from the route table.

nginx (the Debian package, plus its ``set-misc`` module for URL escaping)
stands in for ingress-nginx on one machine. It runs in the foreground as the
user who starts it, on an unprivileged port, with everything it writes (pid,
logs, temporary files) under one prefix directory, ``.dev/nginx`` by
default. Started as root, its workers drop to ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .routes import (
    ENABLED_SERVICES,
    ROUTE_TABLE,
    Access,
    Match,
    Route,
    RouteTable,
    RouteTableError,
    auth_query,
)

__all__ = [
    "DEFAULT_MODULES_DIR",
    "NginxError",
    "NginxSettings",
    "check_nginx_config",
    "find_nginx",
    "nginx_command",
    "render_nginx_config",
    "write_nginx_config",
]

DEFAULT_MODULES_DIR = Path("/usr/lib/nginx/modules")
"""Where Debian installs nginx's dynamic modules."""

_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("rsp_platform", "templates"),
    autoescape=False,  # noqa: S701 (nginx configuration, not HTML)
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


class NginxError(RuntimeError):
    """nginx is missing or refuses its configuration."""


@dataclass(frozen=True)
class NginxSettings:
    """What the local ingress needs beyond the route table.

    Parameters
    ----------
    prefix
        Directory for the configuration, pid, logs and temporary files.
    port
        Port the ingress listens on.
    listen_hosts
        Addresses it listens on (``[::1]`` for IPv6).
    enabled
        Services that run; only their routes are rendered.
    upstreams
        ``host:port`` per service, overriding the route table's local address.
    modules_dir
        Directory of nginx's dynamic modules.
    worker_user
        ``user [group]`` for the worker processes when nginx starts as root.
    worker_processes
        Number of worker processes.
    """

    prefix: Path
    port: int = 8000
    listen_hosts: tuple[str, ...] = ("127.0.0.1",)
    enabled: Collection[str] = ENABLED_SERVICES
    upstreams: Mapping[str, str] = field(default_factory=dict)
    modules_dir: Path = DEFAULT_MODULES_DIR
    worker_user: str | None = None
    worker_processes: int = 1

    @property
    def config_path(self) -> Path:
        """Where the rendered configuration is written."""
        return self.prefix / "nginx.conf"

    def address_of(self, service: str, table: RouteTable = ROUTE_TABLE) -> str:
        """``host:port`` where the ingress reaches a service."""
        if service in self.upstreams:
            return self.upstreams[service]
        return table.service(service).upstream.local_address


def default_worker_user() -> str | None:
    """``nobody nogroup`` when running as root (workers must not), else none."""
    return "nobody nogroup" if os.geteuid() == 0 else None


def _locations(route: Route) -> list[str]:
    """nginx ``location`` arguments giving a route Kubernetes path semantics."""
    if route.match is Match.EXACT:
        return [f"= {route.path}"]
    if route.path == "/":
        return ["/"]
    return [f"= {route.path}", f"{route.path}/"]


def _auth_uri(route: Route) -> str | None:
    if route.access is Access.ANONYMOUS:
        return "/ingress/anonymous"
    query = auth_query(route)
    return None if query is None else f"/ingress/auth?{query}"


def _upstream_name(service: str) -> str:
    return "service_" + service.replace("-", "_")


def render_nginx_config(
    settings: NginxSettings, table: RouteTable = ROUTE_TABLE
) -> str:
    """The nginx configuration for the enabled services' routes.

    Raises
    ------
    RouteTableError
        If the gateway is not enabled (every auth subrequest goes to it) or an
        enabled service is not declared.
    """
    routes = table.routed(settings.enabled)
    if "gateway" not in settings.enabled:
        raise RouteTableError(
            "the gateway must be enabled: it answers auth subrequests"
        )
    services = sorted({r.service for r in routes} | {"gateway"})
    context = {
        "prefix": settings.prefix.resolve(),
        "port": settings.port,
        "listen_hosts": settings.listen_hosts,
        "modules_dir": settings.modules_dir,
        "worker_user": settings.worker_user,
        "worker_processes": settings.worker_processes,
        "gateway_upstream": _upstream_name("gateway"),
        "upstreams": [
            {"name": _upstream_name(s), "address": settings.address_of(s, table)}
            for s in services
        ],
        "routes": [
            {
                "name": r.name,
                "description": r.description,
                "access": r.access.value,
                "internal": r.internal,
                "locations": _locations(r),
                "auth_uri": _auth_uri(r),
                "login_redirect": r.login_redirect,
                "websocket": r.websocket,
                "upstream": _upstream_name(r.service),
            }
            for r in routes
        ],
        "catch_all": any(r.path == "/" for r in routes),
    }
    return _templates.get_template("nginx.conf.jinja").render(context)


def write_nginx_config(
    settings: NginxSettings, table: RouteTable = ROUTE_TABLE
) -> Path:
    """Render the configuration into the prefix and create its directories."""
    for sub in ("logs", *(f"tmp/{d}" for d in _TEMP_DIRS)):
        (settings.prefix / sub).mkdir(parents=True, exist_ok=True)
    path = settings.config_path
    path.write_text(render_nginx_config(settings, table))
    return path


def find_nginx() -> Path:
    """The nginx executable.

    Raises
    ------
    NginxError
        If nginx is not installed (``make dev`` and ``make test`` install it).
    """
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        raise NginxError("nginx is not installed: run scripts/bootstrap.sh (as root)")
    return Path(found)


def nginx_command(settings: NginxSettings, *extra: str) -> list[str]:
    """The command that runs nginx in the foreground with the rendered file."""
    prefix = str(settings.prefix.resolve())
    config = str(settings.config_path.resolve())
    return [str(find_nginx()), "-p", prefix, "-c", config, "-e", "stderr", *extra]


def check_nginx_config(settings: NginxSettings) -> str:
    """Run ``nginx -t`` on the written configuration; its report on success.

    Raises
    ------
    NginxError
        With nginx's message if it refuses the configuration.
    """
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        nginx_command(settings, "-t", "-q"),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        raise NginxError(f"nginx refuses {settings.config_path}:\n{result.stderr}")
    return result.stderr
