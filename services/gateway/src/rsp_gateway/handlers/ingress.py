"""The ingress auth subrequest: ``/ingress/auth`` and ``/ingress/anonymous``.

The ingress (nginx ``auth_request`` or ingress-nginx ``auth-url``) asks here
before every protected request, with the original request's headers. This
is the platform's hottest path, so it is a plain route that reads the
request itself: no dependency injection, one cache lookup and one HMAC for
a valid token, no database access when a live delegated token exists.

A 200 answer carries the headers the ingress copies to the upstream
request (``X-Auth-Request-*``, ``Authorization``, ``Cookie``); the
ingress always sets them from this answer, so whatever a client sent
under those names is dropped. The gateway's session cookie and gateway
tokens never reach a service unless delegated on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, QueryParams

from ..config import Config
from ..dependencies.credentials import token_from_authorization
from ..exceptions import GatewayError, InputError, InvalidTokenError
from ..factory import Factory, ProcessContext
from ..models.token import Token, TokenData
from ..services.token import TokenService

__all__ = ["AuthParams", "authorize", "parse_auth_params", "pass_anonymous", "router"]

router = APIRouter(include_in_schema=False)

_logger = structlog.get_logger("rsp_gateway.ingress")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


@dataclass(frozen=True, slots=True)
class AuthParams:
    """The query parameters of one route's auth subrequest."""

    scopes: frozenset[str]
    satisfy_any: bool
    delegate_to: str | None
    delegate_scopes: frozenset[str]
    notebook: bool
    minimum_lifetime: timedelta | None
    basic: bool
    use_authorization: bool


def _flag(query: QueryParams, name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    value = value.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError(f"{name} must be true or false", location="query", field=name)


def _scopes(query: QueryParams, name: str, known: dict[str, str]) -> frozenset[str]:
    scopes = frozenset(
        s.strip() for v in query.getlist(name) for s in v.split(",") if s.strip()
    )
    unknown = scopes - known.keys()
    if unknown:
        raise InputError(
            f"Unknown scopes: {', '.join(sorted(unknown))}",
            location="query",
            field=name,
        )
    return scopes


def parse_auth_params(query: QueryParams, config: Config) -> AuthParams:
    """Read and check the route's parameters (a mistake there is a 422, not a 500)."""
    satisfy = query.get("satisfy", "all")
    if satisfy not in ("all", "any"):
        raise InputError(
            "satisfy must be all or any", location="query", field="satisfy"
        )
    auth_type = query.get("auth_type", "bearer")
    if auth_type not in ("bearer", "basic"):
        raise InputError(
            "auth_type must be bearer or basic", location="query", field="auth_type"
        )
    minimum_lifetime = None
    if (raw := query.get("minimum_lifetime")) is not None:
        if not raw.isdigit() or int(raw) <= 0 or len(raw) > 9:
            raise InputError(
                "minimum_lifetime must be a positive number of seconds",
                location="query",
                field="minimum_lifetime",
            )
        minimum_lifetime = timedelta(seconds=int(raw))
    delegate_to = query.get("delegate_to") or None
    if delegate_to is not None and not _SERVICE_RE.match(delegate_to):
        raise InputError(
            "delegate_to must be a service name", location="query", field="delegate_to"
        )
    params = AuthParams(
        scopes=_scopes(query, "scope", config.known_scopes),
        satisfy_any=satisfy == "any",
        delegate_to=delegate_to,
        delegate_scopes=_scopes(query, "delegate_scope", config.known_scopes),
        notebook=_flag(query, "notebook"),
        minimum_lifetime=minimum_lifetime,
        basic=auth_type == "basic",
        use_authorization=_flag(query, "use_authorization"),
    )
    if params.notebook and params.delegate_to:
        raise InputError(
            "notebook and delegate_to cannot be combined",
            location="query",
            field="notebook",
        )
    if params.delegate_scopes and not params.delegate_to:
        raise InputError(
            "delegate_scope needs delegate_to", location="query", field="delegate_scope"
        )
    if params.use_authorization and not (params.notebook or params.delegate_to):
        raise InputError(
            "use_authorization needs notebook or delegate_to",
            location="query",
            field="use_authorization",
        )
    return params


_PARAMS_CACHE_SIZE = 1024


def _cached_params(request: Request, config: Config) -> AuthParams:
    """The parsed parameters, remembered per query string (routes have few)."""
    cache: dict[bytes, AuthParams] | None = getattr(
        request.app.state, "ingress_params", None
    )
    if cache is None:
        cache = request.app.state.ingress_params = {}
    query: bytes = request.scope["query_string"]
    params = cache.get(query)
    if params is None:
        params = parse_auth_params(request.query_params, config)
        if len(cache) < _PARAMS_CACHE_SIZE:
            cache[query] = params
    return params


def _split_cookies(header: str | None, name: str) -> tuple[str | None, str | None]:
    """(value of the session cookie, the other cookies or `None`)."""
    if not header:
        return None, None
    session = None
    others = []
    for raw in header.split(";"):
        part = raw.strip()
        if not part:
            continue
        if part.partition("=")[0].strip() == name:
            session = part.partition("=")[2].strip()
        else:
            others.append(part)
    return session, "; ".join(others) or None


def _header_value(value: str) -> str:
    """Text safe in a header: no control characters, ASCII only."""
    cleaned = _UNSAFE_HEADER_CHARS.sub("", value)
    return cleaned.encode("ascii", "replace").decode("ascii")


def _pass_through(
    headers: Headers, cookies: str | None, token: Token | None
) -> dict[str, str]:
    """The Authorization and Cookie headers the service gets without delegation."""
    answer: dict[str, str] = {}
    authorization = headers.get("authorization")
    if authorization and token is None:
        answer["Authorization"] = authorization
    if cookies:
        answer["Cookie"] = cookies
    return answer


def _error(status: int, message: str, challenge: str) -> Response:
    body = _header_value(message)
    return JSONResponse(
        {
            "detail": [
                {
                    "msg": message,
                    "type": "invalid_token" if status == 401 else "insufficient_scope",
                }
            ]
        },
        status_code=status,
        headers={
            "WWW-Authenticate": challenge,
            "X-Error-Status": str(status),
            "X-Error-Body": body,
            "Cache-Control": "no-store",
        },
    )


def _unauthorized(
    config: Config, params: AuthParams, message: str, *, presented: bool
) -> Response:
    realm = config.base_url.host or "platform"
    if params.basic:
        challenge = f'Basic realm="{realm}"'
    elif presented:
        description = message.replace('"', "'")
        challenge = (
            f'Bearer realm="{realm}", error="invalid_token",'
            f' error_description="{description}"'
        )
    else:
        challenge = f'Bearer realm="{realm}"'
    return _error(401, message, challenge)


def _forbidden(config: Config, params: AuthParams) -> Response:
    realm = config.base_url.host or "platform"
    needed = " ".join(sorted(params.scopes))
    how = "any" if params.satisfy_any else "all"
    message = f"Token is missing required scopes ({how} of: {needed})"
    challenge = (
        f'Bearer realm="{realm}", error="insufficient_scope",'
        f' error_description="{message}", scope="{needed}"'
    )
    return _error(403, message, challenge)


def _is_cors_preflight(headers: Headers, config: Config, method: str) -> bool:
    return (
        method.upper() == "OPTIONS"
        and headers.get("origin") == config.origin
        and "access-control-request-method" in headers
    )


def _has_scopes(data: TokenData, params: AuthParams) -> bool:
    if not params.scopes:
        return True
    if params.satisfy_any:
        return not params.scopes.isdisjoint(data.scopes)
    return params.scopes <= data.scopes


class _NoCredentialError(InvalidTokenError):
    """No credential at all (as opposed to a bad one)."""


def _credential(
    process: ProcessContext, headers: Headers, session_cookie: str | None
) -> tuple[Token, bool]:
    """The presented token and whether it came from ``Authorization``."""
    token = token_from_authorization(headers.get("authorization"))
    if token is not None:
        return token, True
    if session_cookie:
        state = process.cookie_codec.decode(session_cookie)
        if state.token and Token.is_token(state.token):
            return Token.from_str(state.token), False
    raise _NoCredentialError("Authentication required")


async def _validate(service: TokenService, token: Token) -> TokenData:
    data = await service.validate(token)
    if data is None:
        _logger.info("Invalid token", token_key=token.key)
        raise InvalidTokenError("Token is invalid, expired or revoked")
    return data


async def _delegate(
    service: TokenService, data: TokenData, params: AuthParams, ip_address: str | None
) -> Token | None:
    """The token to hand the service, if the route asks for one."""
    if params.notebook:
        return await service.get_notebook_token(
            data, ip_address=ip_address, minimum_lifetime=params.minimum_lifetime
        )
    if params.delegate_to:
        return await service.get_internal_token(
            data,
            service=params.delegate_to,
            scopes=sorted(params.delegate_scopes & data.scopes),
            ip_address=ip_address,
            minimum_lifetime=params.minimum_lifetime,
        )
    minimum = params.minimum_lifetime
    if minimum and data.expires and data.expires - datetime.now(UTC) < minimum:
        raise InvalidTokenError("Your token expires too soon; log in again")
    return None


@router.get("/ingress/auth", summary="Authorize a request for the ingress")
async def ingress_auth(request: Request) -> Response:
    process: ProcessContext = request.app.state.process_context
    params = _cached_params(request, process.config)
    method = request.headers.get("x-original-method", "")
    return await authorize(request, params, original_method=method)


async def authorize(
    request: Request, params: AuthParams, *, original_method: str
) -> Response:
    """The answer to an auth check of ``request`` for a route's parameters.

    Parameters
    ----------
    request
        The check request, with the original request's credentials.
    params
        The route's parameters.
    original_method
        Method of the original request (a CORS preflight passes unchecked).
    """
    process: ProcessContext = request.app.state.process_context
    config = process.config
    headers = request.headers
    session_cookie, other_cookies = _split_cookies(
        headers.get("cookie"), config.cookie_name
    )
    if _is_cors_preflight(headers, config, original_method):
        return Response(headers=_pass_through(headers, other_cookies, None))
    service = Factory(process).create_token_service()
    ip_address = request.client.host if request.client else None
    try:
        token, from_header = _credential(process, headers, session_cookie)
        data = await _validate(service, token)
        if not _has_scopes(data, params):
            _logger.info(
                "Insufficient scope",
                user=data.username,
                token_key=data.key,
                required=sorted(params.scopes),
            )
            return _forbidden(config, params)
        delegated = await _delegate(service, data, params, ip_address)
    except InvalidTokenError as e:
        presented = not isinstance(e, _NoCredentialError)
        return _unauthorized(config, params, e.message, presented=presented)
    except GatewayError as e:
        return _error(e.status_code, e.message, f'Bearer error="{e.error}"')

    answer = _pass_through(headers, other_cookies, token if from_header else None)
    answer["X-Auth-Request-User"] = data.username
    if data.email and data.email.isascii() and data.email.isprintable():
        # An address that a header cannot carry exactly is better left out.
        answer["X-Auth-Request-Email"] = data.email
    if delegated is not None:
        answer["X-Auth-Request-Token"] = str(delegated)
        if params.delegate_to:
            answer["X-Auth-Request-Service"] = params.delegate_to
        if params.use_authorization:
            answer["Authorization"] = f"Bearer {delegated}"
    return Response(headers=answer)


@router.get("/ingress/anonymous", summary="Pass an anonymous request for the ingress")
async def ingress_anonymous(request: Request) -> Response:
    return pass_anonymous(request)


def pass_anonymous(request: Request) -> Response:
    """The answer for an anonymous route: the credentials minus the gateway's."""
    config: Config = request.app.state.config
    headers = request.headers
    _, other_cookies = _split_cookies(headers.get("cookie"), config.cookie_name)
    try:
        token = token_from_authorization(headers.get("authorization"))
    except InvalidTokenError:
        # A mangled gateway token is still a gateway token: never passed on.
        token = Token("", "")
    return Response(headers=_pass_through(headers, other_cookies, token))
