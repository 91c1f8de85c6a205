"""Handlers of the token REST API under ``/auth/api/v1``.

Paths, JSON shapes, status codes and headers follow Gafaelfawr's API so that
its clients (``rubin-gafaelfawr``, the token page) work unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AfterValidator

from ..dependencies.auth import Authenticated
from ..dependencies.context import RequestContext, context_dependency
from ..exceptions import InsufficientScopeError, NotFoundError
from ..models.errors import ErrorModel
from ..models.history import TokenChangeHistoryEntry
from ..models.timestamp import Timestamp
from ..models.token import (
    AdminTokenRequest,
    NewToken,
    TokenData,
    TokenInfo,
    TokenType,
    UserTokenModifyRequest,
    UserTokenRequest,
)
from ..models.userinfo import USERNAME_PATTERN, UserInfo
from ..services.history import MAX_HISTORY_LIMIT
from ..services.token import TokenService

__all__ = ["API_PREFIX", "router"]

API_PREFIX = "/auth/api/v1"
"""Where the API lives; clients find it as ``gafaelfawr`` version ``v1``."""

KEY_PATTERN = r"^[A-Za-z0-9_-]{22}$"
"""Shape of a token key (the part between ``gt-`` and the dot)."""

CURSOR_PATTERN = r"^p?[0-9]{1,18}_[0-9]{1,18}$"
"""Shape of a history cursor: ``[p]<time>_<id>``, each small enough for a
64-bit database integer."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorModel, "description": "No valid token or session"},
    403: {"model": ErrorModel, "description": "Not allowed, or CSRF check failed"},
    422: {"model": ErrorModel, "description": "Invalid request"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorModel, "description": "No such user or token"},
}

router = APIRouter(prefix=API_PREFIX, responses=_ERRORS)


def _require_scope(scope: str) -> Callable[..., Awaitable[TokenData]]:
    """A dependency that authenticates the caller and requires ``scope``."""

    async def dependency(auth: Authenticated) -> TokenData:
        if scope not in auth.scopes:
            raise InsufficientScopeError(f"This needs the {scope} scope")
        return auth

    return dependency


def _ip_filter(value: str) -> str:
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=False))
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IP address or a CIDR network") from None


Context = Annotated[RequestContext, Depends(context_dependency)]
AdminToken = Annotated[TokenData, Depends(_require_scope("admin:token"))]
Username = Annotated[
    str,
    Path(
        pattern=USERNAME_PATTERN,
        min_length=1,
        max_length=64,
        description="Username",
        examples=["someuser"],
    ),
]
Key = Annotated[
    str,
    Path(
        pattern=KEY_PATTERN,
        description="Key of a token",
        examples=["5KVApqcVbSQWtO3VIRgOhQ"],
    ),
]
Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, max_length=64, description="Position to page from"),
]
Limit = Annotated[
    int | None,
    Query(ge=1, le=MAX_HISTORY_LIMIT, description="Most entries to return"),
]
Since = Annotated[
    Timestamp | None, Query(description="Only changes at or after this time")
]
Until = Annotated[
    Timestamp | None, Query(description="Only changes at or before this time")
]
KeyFilter = Annotated[
    str | None, Query(pattern=KEY_PATTERN, description="Only changes of this token")
]
TypeFilter = Annotated[
    TokenType | None, Query(description="Only changes of tokens of this type")
]
IpFilter = Annotated[
    Annotated[str, AfterValidator(_ip_filter)] | None,
    Query(
        max_length=64,
        description="Only changes made from this IP address or CIDR network",
    ),
]


def _token_service(context: RequestContext) -> TokenService:
    return context.factory.create_token_service(context.logger)


def _token_url(username: str, key: str) -> str:
    return f"{API_PREFIX}/users/{username}/tokens/{key}"


def _page_headers(
    request: Request,
    response: Response,
    total: int,
    next_cursor: str | None,
    prev_cursor: str | None,
) -> None:
    """Set ``Link`` (first, next, prev) and ``X-Total-Count`` on a page."""
    base = request.url.remove_query_params("cursor")
    links = [f'<{base}>; rel="first"']
    if next_cursor:
        links.append(f'<{base.include_query_params(cursor=next_cursor)}>; rel="next"')
    if prev_cursor:
        links.append(f'<{base.include_query_params(cursor=prev_cursor)}>; rel="prev"')
    response.headers["Link"] = ", ".join(links)
    response.headers["X-Total-Count"] = str(total)


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """The paging and filters every history listing accepts."""

    cursor: str | None
    limit: int | None
    since: datetime | None
    until: datetime | None
    key: str | None
    token_type: TokenType | None
    ip_address: str | None


def _history_query(
    *,
    cursor: Cursor = None,
    limit: Limit = None,
    since: Since = None,
    until: Until = None,
    key: KeyFilter = None,
    token_type: TypeFilter = None,
    ip_address: IpFilter = None,
) -> HistoryQuery:
    return HistoryQuery(
        cursor=cursor,
        limit=limit,
        since=since,
        until=until,
        key=key,
        token_type=token_type,
        ip_address=ip_address,
    )


History = Annotated[HistoryQuery, Depends(_history_query)]


async def _history_page(
    context: RequestContext,
    auth: TokenData,
    username: str | None,
    query: HistoryQuery,
    response: Response,
) -> list[TokenChangeHistoryEntry]:
    """One page of history with its paging headers."""
    history = context.factory.create_history_service()
    entries, total, next_cursor, prev_cursor = await history.get_change_history(
        auth,
        username=username,
        key=query.key,
        token_type=query.token_type.value if query.token_type else None,
        ip_address=query.ip_address,
        since=query.since,
        until=query.until,
        cursor=query.cursor,
        limit=query.limit,
    )
    _page_headers(context.request, response, total, next_cursor, prev_cursor)
    return entries


@router.get(
    "/user-info",
    summary="Who the token's user is",
    tags=["user"],
    response_model=UserInfo,
    response_model_exclude_none=True,
)
async def get_user_info(auth: Authenticated, context: Context) -> UserInfo:
    return context.factory.create_user_info_service().user_info_for(auth)


@router.get(
    "/token-info",
    summary="Metadata of the presented token",
    tags=["user"],
    response_model=TokenInfo,
)
async def get_token_info(auth: Authenticated, context: Context) -> TokenInfo:
    return await _token_service(context).info_for(auth)


@router.get(
    "/users/{username}",
    summary="A user's identity (admin:userinfo)",
    tags=["admin"],
    response_model=UserInfo,
    response_model_exclude_none=True,
    responses=_NOT_FOUND,
    dependencies=[Depends(_require_scope("admin:userinfo"))],
)
async def get_user(username: Username, context: Context) -> UserInfo:
    return await context.factory.create_user_info_service().get_user_info(username)


@router.get(
    "/users/{username}/tokens",
    summary="List a user's tokens",
    tags=["tokens"],
    response_model=list[TokenInfo],
    responses=_NOT_FOUND,
)
async def list_tokens(
    username: Username, auth: Authenticated, context: Context
) -> list[TokenInfo]:
    return await _token_service(context).list_tokens(auth, username)


@router.post(
    "/users/{username}/tokens",
    summary="Create a user token",
    tags=["tokens"],
    status_code=status.HTTP_201_CREATED,
    response_model=NewToken,
    responses=_NOT_FOUND,
)
async def create_user_token(
    username: Username,
    body: UserTokenRequest,
    auth: Authenticated,
    context: Context,
    response: Response,
) -> NewToken:
    token = await _token_service(context).create_user_token(
        auth, username, body, ip_address=context.ip_address
    )
    response.headers["Location"] = _token_url(username, token.key)
    return NewToken(token=str(token))


@router.get(
    "/users/{username}/tokens/{key}",
    summary="One token's metadata",
    tags=["tokens"],
    response_model=TokenInfo,
    responses=_NOT_FOUND,
)
async def get_user_token(
    username: Username, key: Key, auth: Authenticated, context: Context
) -> TokenInfo:
    return await _token_service(context).get_token_info(auth, username, key)


@router.patch(
    "/users/{username}/tokens/{key}",
    summary="Change a user token's name, scopes or expiry",
    tags=["tokens"],
    response_model=TokenInfo,
    responses=_NOT_FOUND,
)
async def modify_user_token(
    username: Username,
    key: Key,
    body: UserTokenModifyRequest,
    auth: Authenticated,
    context: Context,
) -> TokenInfo:
    return await _token_service(context).modify_token(
        auth, username, key, body, ip_address=context.ip_address
    )


@router.delete(
    "/users/{username}/tokens/{key}",
    summary="Revoke a token and its children",
    tags=["tokens"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_NOT_FOUND,
)
async def revoke_user_token(
    username: Username, key: Key, auth: Authenticated, context: Context
) -> Response:
    await _token_service(context).revoke_token(
        auth, username, key, ip_address=context.ip_address
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tokens",
    summary="Create a service or user token for any user (admin:token)",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    response_model=NewToken,
)
async def create_admin_token(
    body: AdminTokenRequest, auth: AdminToken, context: Context, response: Response
) -> NewToken:
    token = await _token_service(context).create_admin_token(
        auth, body, ip_address=context.ip_address
    )
    response.headers["Location"] = _token_url(body.username, token.key)
    return NewToken(token=str(token))


@router.get(
    "/users/{username}/tokens/{key}/change-history",
    summary="Every recorded change of one token",
    tags=["history"],
    response_model=list[TokenChangeHistoryEntry],
    responses=_NOT_FOUND,
)
async def get_token_change_history(
    username: Username, key: Key, auth: Authenticated, context: Context
) -> list[TokenChangeHistoryEntry]:
    history = context.factory.create_history_service()
    entries, _, _, _ = await history.get_change_history(
        auth, username=username, key=key
    )
    if not entries:
        raise NotFoundError(f"No history for token {key}", location="path", field="key")
    return entries


@router.get(
    "/users/{username}/token-change-history",
    summary="Changes of a user's tokens, newest first",
    tags=["history"],
    response_model=list[TokenChangeHistoryEntry],
    responses=_NOT_FOUND,
)
async def get_user_token_change_history(
    *,
    username: Username,
    auth: Authenticated,
    context: Context,
    response: Response,
    query: History,
) -> list[TokenChangeHistoryEntry]:
    return await _history_page(context, auth, username, query, response)


@router.get(
    "/history/token-changes",
    summary="Changes of every token, newest first (admin:token)",
    tags=["admin", "history"],
    response_model=list[TokenChangeHistoryEntry],
)
async def get_admin_token_change_history(
    *,
    auth: AdminToken,
    context: Context,
    response: Response,
    query: History,
    username: Annotated[
        str | None,
        Query(pattern=USERNAME_PATTERN, max_length=64, description="Only this user"),
    ] = None,
) -> list[TokenChangeHistoryEntry]:
    return await _history_page(context, auth, username, query, response)
