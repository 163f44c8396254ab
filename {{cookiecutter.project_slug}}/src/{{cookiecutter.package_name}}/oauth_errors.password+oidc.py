"""OAuth 2.0 error responses from one place (RFC 6749 §5.2): routes raise, this module answers.

Every answer of the token endpoint, good or bad, carries ``Cache-Control: no-store``.
A database that is away gets 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .db import UNAVAILABLE

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
RETRY_AFTER_SECONDS = 5


class OAuthError(Exception):
    """An RFC 6749 error: ``error`` is the code clients act on; ``reason`` is for the log only."""

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        status: int = 400,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason or error)
        self.error = error
        self.description = description
        self.status = status
        self.reason = reason or error
        self.headers = headers or {}


def invalid_grant(reason: str) -> OAuthError:
    """The one answer to every refused credential, so that none tells which part was wrong."""
    return OAuthError("invalid_grant", "The credentials or the refresh token are not valid.", reason=reason)


def unavailable(reason: str = "database_unavailable") -> OAuthError:
    return OAuthError(
        "temporarily_unavailable",
        "Logins are unavailable right now; try again later.",
        status=503,
        reason=reason,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def oauth_error_response(error: OAuthError) -> JSONResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    return JSONResponse(body, status_code=error.status, headers={**NO_STORE, **error.headers})


async def _oauth_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)  # noqa: S101 - registered for OAuthError only
    return oauth_error_response(exc)


async def _database_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return oauth_error_response(unavailable())


def install_oauth_errors(app: FastAPI) -> None:
    """Answer ``OAuthError`` as RFC 6749 says, and a database outage with 503."""
    app.add_exception_handler(OAuthError, _oauth_error)
    for error_type in UNAVAILABLE:
        app.add_exception_handler(error_type, _database_unavailable)
