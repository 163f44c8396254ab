"""Log in at the upstream OpenID provider: ``GET /login``, then ``GET`` or ``POST /authorize``.

``GET /login`` answers the provider's login URL and binds the login to the
browser with a cookie. The provider sends the browser back to
``AUTH_LOGIN_REDIRECT_URI`` with ``code`` and ``state``: either this service's
``GET /authorize``, or a front-end page that posts them to ``POST /authorize``.
Either way the answer is the service's own token response (RFC 6749 §5.1).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..db import SessionDep
from ..identities import user_for
from ..login_errors import PROVIDER_ERRORS, LoginRefusedError, ProviderUnavailableError
from ..login_transactions import (
    LoginTransaction,
    binding_of,
    clear_binding_cookie,
    save_transaction,
    set_binding_cookie,
    take_transaction,
)
from ..oauth_errors import NO_STORE, OAuthError, OAuthRoute, invalid_grant, unavailable
from ..oidc_client import OidcClient
from ..oidc_settings import Settings
from ..sessions import Sessions, TokenResponse
from .token import read_body

logger = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 2048


class LoginUrl(BaseModel):
    """Where to send the browser to log in."""

    url: str


class AuthorizationResponse(BaseModel):
    """What the provider sent back to the redirect URI: the body of ``POST /authorize``."""

    code: str = Field(min_length=1, max_length=MAX_PARAM_LENGTH)
    state: str = Field(min_length=1, max_length=MAX_PARAM_LENGTH)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a member is repeated")  # RFC 6749 §3.1: each parameter at most once
    return members


class RedirectQuery(BaseModel):
    """The query of the provider's redirect: ``code`` and ``state``, or its ``error`` (RFC 6749 §4.1.2)."""

    code: str | None = Field(default=None, max_length=MAX_PARAM_LENGTH)
    state: str | None = Field(default=None, max_length=MAX_PARAM_LENGTH)
    error: str | None = Field(default=None, max_length=MAX_PARAM_LENGTH)


def _refused(reason: str) -> OAuthError:
    description = "The login is unknown, expired, already used, or not this browser's."
    return OAuthError("invalid_request", description, reason=reason)


router = APIRouter(tags=["login"], route_class=OAuthRoute)


@router.get("/login", responses={503: {"description": "The identity provider cannot be reached"}})
async def start_login(request: Request, response: Response, db: SessionDep) -> LoginUrl:
    """Start a login: the provider's login URL, and a cookie that binds the login to this browser."""
    settings: Settings = request.app.state.accounts.settings
    client: OidcClient = request.app.state.oidc
    transaction = LoginTransaction()
    try:
        url = await client.authorization_url(
            state=transaction.state, nonce=transaction.nonce, code_challenge=transaction.code_challenge
        )
    except ProviderUnavailableError as exc:
        raise unavailable("Logins are", exc.reason, exc.retry_after) from None
    await save_transaction(db, transaction)
    set_binding_cookie(response, transaction.binding, secure=settings.login_cookie_secure)
    response.headers.update(NO_STORE)
    return LoginUrl(url=url)


async def _finish_login(request: Request, response: Response, db: SessionDep, code: str, state: str) -> TokenResponse:
    settings: Settings = request.app.state.accounts.settings
    client: OidcClient = request.app.state.oidc
    binding = binding_of(request, secure=settings.login_cookie_secure)
    if binding is None:
        raise _refused("binding_cookie_missing")
    try:
        transaction = await take_transaction(db, state, binding)
    except LookupError as exc:
        raise _refused(str(exc)) from None
    try:
        identity = await client.identity_for(code, code_verifier=transaction.code_verifier, nonce=transaction.nonce)
    except LoginRefusedError as exc:
        raise invalid_grant(exc.reason) from None
    except ProviderUnavailableError as exc:
        raise unavailable("Logins are", exc.reason, exc.retry_after) from None
    try:
        user = await user_for(db, identity, new_user_scopes=" ".join(settings.login_new_user_scopes))
    except LookupError as exc:  # the user was deleted while logging in
        raise invalid_grant(str(exc)) from None
    if user.disabled:
        raise invalid_grant("user_disabled")
    sessions: Sessions = request.app.state.accounts.sessions
    tokens = await sessions.issue_tokens(db, user, user.scopes)
    clear_binding_cookie(response, secure=settings.login_cookie_secure)
    response.headers.update(NO_STORE)
    logger.info("login granted sub=%s", json.dumps(user.id))
    return tokens


AUTHORIZATION_RESPONSE_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": AuthorizationResponse.model_json_schema()}},
}


@router.post(
    "/authorize",
    openapi_extra={"requestBody": AUTHORIZATION_RESPONSE_BODY},
    responses={400: {"description": "RFC 6749 error"}, 413: {}, 503: {"description": "Provider down"}},
)
async def authorize(request: Request, response: Response, db: SessionDep) -> TokenResponse:
    """Finish a login with the ``code`` and ``state`` a front-end page received from the provider."""
    settings: Settings = request.app.state.accounts.settings
    # Read here, not by FastAPI, so that a body over the cap is refused (413) before it is all in memory.
    body = await read_body(request, settings.max_form_bytes)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
        raise OAuthError("invalid_request", "The body must be application/json.", reason="wrong_content_type")
    try:
        sent = AuthorizationResponse.model_validate(json.loads(body, object_pairs_hook=_unique_members))
    except (ValueError, RecursionError):  # ValidationError and UnicodeDecodeError are ValueErrors
        raise OAuthError("invalid_request", "The body must be {code, state}.", reason="malformed_json") from None
    return await _finish_login(request, response, db, sent.code, sent.state)


@router.get("/authorize", responses={400: {"description": "RFC 6749 error"}, 503: {"description": "Provider down"}})
async def authorize_redirect(
    query: Annotated[RedirectQuery, Query()], request: Request, response: Response, db: SessionDep
) -> TokenResponse:
    """Finish a login where the provider redirects the browser to this service itself."""
    if any(len(request.query_params.getlist(name)) > 1 for name in ("code", "state", "error")):
        raise _refused("duplicate_parameter")  # RFC 6749 §3.1: each parameter at most once
    code, state, error = query.code, query.state, query.error
    if error is not None:
        # The provider's refusal (the user cancelled, say): spend the transaction, pass the error code on.
        settings: Settings = request.app.state.accounts.settings
        binding = binding_of(request, secure=settings.login_cookie_secure)
        if state and binding:
            with contextlib.suppress(LookupError):
                await take_transaction(db, state, binding)
        passed_on = error if error in PROVIDER_ERRORS else "invalid_request"
        raise OAuthError(passed_on, "The identity provider refused the login.", reason="provider_error")
    if not code or not state:
        raise _refused("code_or_state_missing")
    return await _finish_login(request, response, db, code, state)
