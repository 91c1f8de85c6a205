"""The auth check for Envoy's HTTP ext_authz (Gateway API ingresses).

Envoy Gateway's ``SecurityPolicy`` (``extAuth.http``), which the platform's
operator makes for each route when the ingress is the Gateway API, asks the
gateway differently from ingress-nginx's ``auth-url``:

- the check request keeps the original method (a ``POST`` is checked as a
  ``POST``, with no body) and its path is the policy's ``path`` followed by
  the original path and query; so the route's parameters cannot be a query
  string, and travel as one path segment in the same syntax as
  ``/ingress/auth``'s query::

      /ingress/ext-authz/auth/scope=read:tap&satisfy=all/api/tap/sync?QUERY=...

  plus ``login_redirect=true`` for browser routes;
- whatever the gateway answers other than 200 goes to the client as it is,
  so for browser routes a 401 becomes here the redirect to
  ``/login?rd=<original URL>`` that ingress-nginx makes from ``auth-signin``;
- on a 200 Envoy sets the answer's headers that the policy lists on the
  upstream request but keeps the client's others; the answer therefore
  names in ``x-envoy-auth-headers-to-remove`` each identity header it did
  not set, so that a client can never pass its own ``X-Auth-Request-*``.

``/ingress/ext-authz/anonymous/<original path>`` is the same for anonymous
routes. The checks themselves are :func:`.ingress.authorize` and
:func:`.ingress.pass_anonymous`: one set of rules for both ingresses. Like
``/ingress/auth``, these paths are never routed from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.datastructures import QueryParams

from ..config import Config
from ..exceptions import InputError
from ..factory import ProcessContext
from .ingress import AuthParams, authorize, parse_auth_params, pass_anonymous

__all__ = [
    "ANONYMOUS_PREFIX",
    "AUTH_PREFIX",
    "HEADERS_TO_REMOVE",
    "IDENTITY_HEADERS",
    "router",
]

AUTH_PREFIX = "/ingress/ext-authz/auth/"
"""Path prefix of checks for routes with scopes; the route's parameters follow."""

ANONYMOUS_PREFIX = "/ingress/ext-authz/anonymous"
"""Path prefix of checks for anonymous routes."""

IDENTITY_HEADERS: tuple[str, ...] = (
    "X-Auth-Request-User",
    "X-Auth-Request-Email",
    "X-Auth-Request-Service",
    "X-Auth-Request-Token",
    "Authorization",
    "Cookie",
)
"""Headers a service gets only from the gateway's answer (``AUTH_RESPONSE_HEADERS``)."""

HEADERS_TO_REMOVE = "X-Envoy-Auth-Headers-To-Remove"
"""Answer header listing the request headers Envoy removes before the upstream."""

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PARAMS_CACHE_SIZE = 1024
_AUTH_PREFIX_BYTES = AUTH_PREFIX.encode()

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class _RouteCheck:
    params: AuthParams
    login_redirect: bool


def _split_path(request: Request) -> tuple[bytes, bytes]:
    """(the route's parameter segment, the original path) of a check's path.

    Read from the raw path: the original path stays as the client sent it.
    """
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    rest = raw_path.partition(b"?")[0][len(_AUTH_PREFIX_BYTES) :]
    segment, slash, original = rest.partition(b"/")
    return segment, slash + original


def _route_check(request: Request, config: Config, segment: bytes) -> _RouteCheck:
    """The route's parameters from the path segment, remembered per segment."""
    cache: dict[bytes, _RouteCheck] | None = getattr(
        request.app.state, "ext_authz_params", None
    )
    if cache is None:
        cache = request.app.state.ext_authz_params = {}
    check = cache.get(segment)
    if check is None:
        query = QueryParams(segment.decode("latin-1"))
        redirect = query.get("login_redirect", "false").lower()
        if redirect not in ("true", "false"):
            raise InputError(
                "login_redirect must be true or false",
                location="path",
                field="login_redirect",
            )
        check = _RouteCheck(parse_auth_params(query, config), redirect == "true")
        if len(cache) < _PARAMS_CACHE_SIZE:
            cache[segment] = check
    return check


def _remove_unset(response: Response) -> Response:
    """Name every identity header the answer does not set, for Envoy to drop."""
    unset = [h for h in IDENTITY_HEADERS if h not in response.headers]
    if unset:
        response.headers[HEADERS_TO_REMOVE] = ", ".join(unset)
    return response


def _login_redirect(config: Config, original: bytes, query: bytes) -> Response:
    """Send a browser to the login, coming back to the original URL."""
    url = config.origin + original.decode("latin-1")
    if query:
        url += "?" + query.decode("latin-1")
    location = f"{config.origin}/login?rd={quote(url, safe='')}"
    return Response(
        status_code=302, headers={"Location": location, "Cache-Control": "no-store"}
    )


@router.api_route(AUTH_PREFIX + "{params}/{path:path}", methods=_METHODS)
async def ext_authz_auth(request: Request) -> Response:
    process: ProcessContext = request.app.state.process_context
    config = process.config
    segment, original = _split_path(request)
    check = _route_check(request, config, segment)
    response = await authorize(request, check.params, original_method=request.method)
    if response.status_code == 401 and check.login_redirect:
        return _login_redirect(config, original, request.scope["query_string"])
    if response.status_code == 200:
        return _remove_unset(response)
    return response


@router.api_route(ANONYMOUS_PREFIX + "/{path:path}", methods=_METHODS)
async def ext_authz_anonymous(request: Request) -> Response:
    return _remove_unset(pass_anonymous(request))
