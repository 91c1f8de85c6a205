"""Handlers of the browser login: ``/login``, ``/logout``, ``/auth/api/v1/login``.

Browser routes answer with HTML pages, errors included; the API route
answers JSON like the rest of the REST API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response
from fastapi.responses import RedirectResponse

from ..dependencies.context import RequestContext, context_dependency
from ..exceptions import (
    GatewayError,
    InvalidReturnURLError,
    InvalidTokenError,
    LoginFormError,
    NoScopesError,
    UpstreamError,
)
from ..models.login import LoginResponse
from ..models.session import SessionState
from ..services.dev_login import DevLoginForm
from ..services.login import Session
from .templating import render_page

router = APIRouter()

Context = Annotated[RequestContext, Depends(context_dependency)]


def _cookie_state(context: RequestContext) -> SessionState:
    cookie = context.request.cookies.get(context.config.cookie_name)
    return context.factory.context.cookie_codec.decode(cookie)


def _store_state(
    response: Response,
    context: RequestContext,
    state: SessionState,
    expires: datetime | None = None,
) -> None:
    """Put ``state`` in the cookie, or remove the cookie if it is empty."""
    config = context.config
    if state == SessionState():
        response.delete_cookie(
            config.cookie_name,
            path="/",
            secure=config.cookie_secure,
            httponly=True,
            samesite="lax",
        )
        return
    max_age = None
    if expires is not None:
        max_age = max(0, int((expires - datetime.now(tz=UTC)).total_seconds()))
    response.set_cookie(
        config.cookie_name,
        context.factory.context.cookie_codec.encode(state),
        max_age=max_age,
        path="/",
        secure=config.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _error_page(context: RequestContext, error: GatewayError) -> Response:
    request = context.request
    if isinstance(error, NoScopesError):
        return render_page(
            request,
            "login_refused.html",
            {
                "login_username": error.username,
                "groups": error.groups,
                "provider": "development" if context.config.dev_login else "GitHub",
                "retry_url": "/login",
            },
            status_code=error.status_code,
        )
    if isinstance(error, InvalidReturnURLError):
        heading = "Invalid return address"
        hint = "Follow a link from this platform's own pages instead."
        retry_url = None
    elif isinstance(error, UpstreamError):
        heading = "GitHub is not answering"
        hint = "This is probably temporary: please try again in a few minutes."
        retry_url = "/login"
    else:
        heading = "Login failed"
        hint = None
        retry_url = "/login"
    context.logger.info("Login page error", error=error.error, reason=error.message)
    return render_page(
        request,
        "error.html",
        {
            "heading": heading,
            "message": error.message,
            "hint": hint,
            "retry_url": retry_url,
        },
        status_code=error.status_code,
    )


def _dev_form_page(
    context: RequestContext,
    state: str,
    form: DevLoginForm,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render_page(
        context.request,
        "login_dev.html",
        {
            "state": state,
            "form": {
                "username": form.username,
                "name": form.name,
                "email": form.email,
                "groups": form.groups,
            },
            "errors": errors or {},
            "group_mapping": context.config.group_mapping,
        },
        status_code=status_code,
    )


def _session_redirect(
    context: RequestContext, session: Session, status_code: int
) -> Response:
    response = RedirectResponse(session.return_url, status_code=status_code)
    _store_state(response, context, session.state, session.expires)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login", include_in_schema=False)
async def get_login(
    context: Context,
    rd: str | None = None,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    service = context.factory.create_login_service(context.logger)
    cookie = _cookie_state(context)

    if code is not None or state is not None or error is not None:
        pending, remaining = service.take_pending_login(cookie)
        try:
            session = await service.finish_github_login(
                pending,
                sent_state=state,
                code=code,
                error=error,
                ip_address=context.ip_address,
            )
        except GatewayError as e:
            response = _error_page(context, e)
            _store_state(response, context, remaining)
            return response
        return _session_redirect(context, session, 302)

    try:
        return_url = service.return_url(rd)
    except InvalidReturnURLError as e:
        return _error_page(context, e)
    if await service.current_session(cookie) is not None:
        return RedirectResponse(return_url, status_code=302)
    new_state = service.begin_login(return_url)
    assert new_state.login_state is not None
    if context.config.dev_login:
        response = _dev_form_page(context, new_state.login_state, DevLoginForm())
    else:
        try:
            url = await service.github_authorization_url(new_state)
        except GatewayError as e:
            return _error_page(context, e)
        response = RedirectResponse(url, status_code=302)
        response.headers["Cache-Control"] = "no-store"
    _store_state(response, context, new_state)
    return response


@router.post("/login", include_in_schema=False)
async def post_login(
    context: Context,
    *,
    state: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    groups: Annotated[str, Form()] = "",
) -> Response:
    if not context.config.dev_login:
        return render_page(
            context.request,
            "error.html",
            {
                "heading": "Not found",
                "message": "The development login is not enabled on this platform.",
            },
            status_code=404,
        )
    service = context.factory.create_login_service(context.logger)
    cookie = _cookie_state(context)
    pending, remaining = service.take_pending_login(cookie)
    form = DevLoginForm(username=username, name=name, email=email, groups=groups)
    try:
        session = await service.finish_dev_login(
            pending, sent_state=state, form=form, ip_address=context.ip_address
        )
    except LoginFormError as e:
        # The state checked out; keep it so the corrected form can be sent.
        return _dev_form_page(context, state, form, e.errors, status_code=422)
    except GatewayError as e:
        response = _error_page(context, e)
        _store_state(response, context, remaining)
        return response
    return _session_redirect(context, session, 303)


@router.get("/logout", include_in_schema=False)
async def get_logout(context: Context, rd: str | None = None) -> Response:
    service = context.factory.create_login_service(context.logger)
    try:
        return_url = service.return_url(rd)
    except InvalidReturnURLError as e:
        return _error_page(context, e)
    await service.logout(_cookie_state(context), ip_address=context.ip_address)
    response = RedirectResponse(return_url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    _store_state(response, context, SessionState())
    return response


@router.get(
    "/auth/api/v1/login",
    summary="Who is logged in, with the CSRF token",
    description=(
        "For a browser with a session cookie: the user, their scopes, the"
        " scopes the platform knows, and the CSRF token to send as"
        " X-CSRF-Token with cookie-authenticated writes."
    ),
    response_model=LoginResponse,
    responses={401: {"description": "No valid session cookie"}},
    tags=["user"],
)
async def get_api_login(context: Context, response: Response) -> LoginResponse:
    service = context.factory.create_login_service(context.logger)
    info = await service.login_info(_cookie_state(context))
    if info is None:
        raise InvalidTokenError("Not logged in: no valid session cookie")
    if info.changed:
        _store_state(response, context, info.state, info.expires)
    response.headers["Cache-Control"] = "no-store"
    return info.response
