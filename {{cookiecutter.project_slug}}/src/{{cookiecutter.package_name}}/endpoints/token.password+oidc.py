"""The token endpoint (RFC 6749 §3.2) and logout: ``POST /token`` and ``POST /logout``.

``/token`` takes a form-encoded body only, read here with a size cap: a
duplicated field, bytes that are not UTF-8, JSON or another content type get
400 ``invalid_request``, a body over ``AUTH_MAX_FORM_BYTES`` 413, never a 5xx.
The ``refresh_token`` grant is handled here; a login kind adds its own grant
(``password``) to ``app.state.accounts.grants``.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..accounts import Accounts
from ..db import SessionDep
from ..dependency import Claims
from ..oauth_errors import NO_STORE, OAuthError
from ..sessions import TokenResponse

router = APIRouter(tags=["auth"])

FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 20
MAX_REFRESH_TOKEN_LENGTH = 256


class TokenRequest(BaseModel):
    """The fields ``POST /token`` reads (the shape of FastAPI's ``OAuth2PasswordRequestForm``), for the docs."""

    grant_type: str
    username: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    scope: str | None = None
    client_id: str | None = None


def invalid_request(description: str, reason: str) -> OAuthError:
    return OAuthError("invalid_request", description, reason=reason)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, or 413 as soon as it is longer than ``max_bytes``, whatever Content-Length claims."""
    too_large = OAuthError("invalid_request", "The request body is too large.", status=413, reason="body_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)


def parse_form(body: bytes) -> dict[str, str]:
    """A form-encoded body as a dict: every field once, all of it UTF-8."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("The body is not a UTF-8 form.", "malformed_form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise invalid_request(f"The parameter {name!r} is repeated.", "repeated_parameter")
        form[name] = value
    return form


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise invalid_request(f"The body must be {FORM}.", "wrong_content_type")
    return parse_form(await read_body(request, max_bytes))


def required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise invalid_request(f"The parameter {name!r} is missing.", f"missing_{name}")
    return value


async def refresh_token_grant(request: Request, form: dict[str, str], db: SessionDep) -> TokenResponse:
    """RFC 6749 §6: spend a refresh token for new tokens of the same session."""
    accounts: Accounts = request.app.state.accounts
    presented = required(form, "refresh_token")
    if len(presented) > MAX_REFRESH_TOKEN_LENGTH:
        raise OAuthError("invalid_grant", "The refresh token is not valid.", reason="refresh_token_unknown")
    return await accounts.sessions.rotate_refresh_token(db, presented, form.get("scope"))


TOKEN_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {FORM: {"schema": TokenRequest.model_json_schema()}},
}


@router.post(
    "/token",
    response_model=TokenResponse,
    openapi_extra={"requestBody": TOKEN_REQUEST_BODY},
    responses={400: {"description": "RFC 6749 §5.2 error"}, 413: {}, 429: {}, 503: {}},
)
async def token(request: Request, db: SessionDep) -> JSONResponse:
    """Issue tokens: ``grant_type=password`` (password logins) or ``grant_type=refresh_token``."""
    accounts: Accounts = request.app.state.accounts
    form = await read_form(request, accounts.settings.max_form_bytes)
    grant_type = required(form, "grant_type")
    grant = refresh_token_grant if grant_type == "refresh_token" else accounts.grants.get(grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type", reason="unsupported_grant_type")
    issued = await grant(request, form, db)
    return JSONResponse(issued.model_dump(), headers=NO_STORE)


async def logout_refresh_token(request: Request, max_bytes: int) -> str | None:
    """The refresh token a logout may carry, in a form or a JSON body; None without one."""
    body = await read_body(request, max_bytes)
    if not body.strip():
        return None
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == FORM:
        return parse_form(body).get("refresh_token") or None
    if media_type == "application/json":
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deep for the parser
            raise invalid_request("The body is not JSON.", "malformed_json") from None
        value = document.get("refresh_token") if isinstance(document, dict) else None
        return value if isinstance(value, str) and value else None
    raise invalid_request(f"The body must be {FORM} or application/json.", "wrong_content_type")


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses={400: {}, 413: {}, 503: {}})
async def logout(request: Request, claims: Claims, db: SessionDep) -> Response:
    """End this login: the access token is refused from now on, and its session's refresh tokens too."""
    accounts: Accounts = request.app.state.accounts
    refresh_token = await logout_refresh_token(request, accounts.settings.max_form_bytes)
    now = int(time.time())
    jti, sid = claims.raw.get("jti"), claims.raw.get("sid")
    if not isinstance(jti, str) or claims.exp is None:
        # Nothing could keep refusing it (RFC 7009 §2.2.1); every token this service issues or mints has both.
        raise OAuthError(
            "unsupported_token_type", "This access token has no jti or exp, so it cannot be revoked.",
            reason="token_not_revocable",
        )  # fmt: skip
    await accounts.sessions.deny_access_token(db, jti, int(claims.exp), now=now, issuer=claims.iss)
    if isinstance(sid, str):
        await accounts.sessions.revoke_session(db, sid, user_id=claims.sub, now=now)
    if refresh_token is not None and len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH:
        await accounts.sessions.revoke_session_of(db, refresh_token, user_id=claims.sub, now=now)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
