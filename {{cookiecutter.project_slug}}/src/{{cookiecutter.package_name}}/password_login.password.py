"""Password logins: the ``password`` grant of ``POST /token`` (RFC 6749 §4.3), and /docs that can use it.

A wrong username, a wrong password and a disabled user get the same 400
``invalid_grant`` after the same argon2id work; repeated failures get 429.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .accounts import Accounts
from .db import DATABASE_FAILURES
from .models import User
from .oauth_errors import OAuthError, invalid_grant
from .password_settings import Settings
from .passwords import verify_password
from .route_scopes import required_scopes
from .sessions import TokenResponse, granted_scopes
from .throttle import LoginThrottle, Refused

MAX_USERNAME_LENGTH = 150
MAX_PASSWORD_LENGTH = 1024
PASSWORD_SCHEME = "PasswordLogin"  # noqa: S105 - a name in the OpenAPI document
BEARER_SCHEME = "BearerJWT"


def usable_username(username: str) -> bool:
    """Whether ``username`` could name a user: short, and no control characters (PostgreSQL refuses NUL)."""
    return 0 < len(username) <= MAX_USERNAME_LENGTH and all(ch.isprintable() for ch in username)


async def password_grant(request: Request, form: dict[str, str], db: AsyncSession) -> TokenResponse:
    """Check a username and password; issue tokens for a new session."""
    accounts: Accounts = request.app.state.accounts
    throttle: LoginThrottle = request.app.state.login_throttle
    username, password = form.get("username"), form.get("password")
    if not username or password is None:
        raise OAuthError("invalid_request", "The username and password are required.", reason="missing_credentials")
    # Counted as the lookup matches it: guesses for "Bob" must not hold back "bob".
    address = request.client.host if request.client else "unknown"
    attempt = await throttle.attempt(username, address)
    if isinstance(attempt, Refused):
        raise OAuthError(
            "slow_down", "Too many failed logins; try again later.", status=429, reason="throttled",
            headers={"Retry-After": str(attempt.retry_after)},
        )  # fmt: skip
    user = None
    try:
        if usable_username(username) and len(password) <= MAX_PASSWORD_LENGTH:
            user = await db.scalar(select(User).where(User.username == username))
            await db.commit()  # no transaction (nor pooled connection) held while the hash is checked
    except DATABASE_FAILURES:
        await throttle.withdraw(db, attempt)  # the database failed, not a guess: 503, uncounted
        raise
    # An unknown user costs one hash too, so the time taken does not tell whether the username exists.
    valid, new_hash = await verify_password(password[:MAX_PASSWORD_LENGTH], user.password_hash if user else None)
    if user is None or not valid or user.disabled:
        await throttle.failed(attempt)
        raise invalid_grant("user_disabled" if user is not None and valid else "bad_credentials")
    try:
        if new_hash is not None:
            user.password_hash = new_hash  # made with other parameters: replaced now, committed with the tokens
        scopes = granted_scopes(user.scopes, form.get("scope"))
        issued = await accounts.sessions.issue_tokens(db, user, scopes)
    except BaseException:
        # The right password is no guess, whatever went wrong after it (the database, a scope not granted).
        await throttle.withdraw(db, attempt)
        raise
    await throttle.succeeded(attempt)
    return issued


def install_password_login(app: FastAPI, settings: Settings, accounts: Accounts) -> None:
    """Accept the password grant, and let /docs log in with a username and password (Authorize)."""
    accounts.grants["password"] = password_grant
    app.state.login_throttle = LoginThrottle(accounts.database.sessions, settings)
    plain_openapi = app.openapi
    with_login: dict[str, Any] = {}

    def openapi_with_login() -> dict[str, Any]:
        if with_login:
            return with_login
        with_login.update(copy.deepcopy(plain_openapi()))
        scopes = {scope: "needed by " + ", ".join(routes) for scope, routes in required_scopes(app).items()}
        with_login["components"]["securitySchemes"][PASSWORD_SCHEME] = {
            "type": "oauth2",
            # Described by the routes that need them; asking for none grants all of the user's scopes.
            "flows": {"password": {"tokenUrl": "/token", "scopes": scopes}},
        }
        for operation in (op for path in with_login["paths"].values() for op in path.values()):
            for requirement in operation.get("security", []):
                if BEARER_SCHEME in requirement:
                    operation["security"].append({PASSWORD_SCHEME: requirement[BEARER_SCHEME]})
                    break
        return with_login

    app.openapi = openapi_with_login  # type: ignore[method-assign]
