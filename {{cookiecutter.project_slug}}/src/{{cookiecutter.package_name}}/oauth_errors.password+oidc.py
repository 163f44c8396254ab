"""OAuth 2.0 error responses from one place (RFC 6749 §5.2): routes raise, this module answers.

Every answer of the token endpoint, good or bad, carries ``Cache-Control: no-store``.
A database that is away gets 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from .db import DATABASE_FAILURES, first_line, is_unavailable
from .log_throttle import LogThrottle

logger = logging.getLogger(__name__)

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


def unavailable(what: str, reason: str, retry_after: int = RETRY_AFTER_SECONDS) -> OAuthError:
    """503 ``temporarily_unavailable``: ``what`` (the database, the provider) cannot serve now; try later."""
    return OAuthError(
        "temporarily_unavailable",
        f"{what} unavailable right now; try again later.",
        status=503,
        reason=reason,
        headers={"Retry-After": str(retry_after)},
    )


def oauth_error_response(error: OAuthError) -> JSONResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    return JSONResponse(body, status_code=error.status, headers={**NO_STORE, **error.headers})


class OAuthRoute(APIRoute):
    """Malformed input gets 400 ``invalid_request``, not FastAPI's 422: ``APIRouter(route_class=OAuthRoute)``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (RequestValidationError, HTTPException):
                error = OAuthError("invalid_request", "The request is malformed.", reason="malformed_request")
                return oauth_error_response(error)

        return handle


async def _oauth_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)  # noqa: S101 - registered for OAuthError only
    # The reason is ours (a short code), never a credential: safe to log, and what an operator needs.
    level = logging.WARNING if exc.status >= 500 else logging.INFO
    logger.log(level, "login refused status=%d error=%s reason=%s", exc.status, exc.error, exc.reason)
    return oauth_error_response(exc)


def install_oauth_errors(app: FastAPI, *, log_repeat_seconds: float) -> None:
    """Answer ``OAuthError`` as RFC 6749 says, and a database outage with 503 on every route."""
    app.add_exception_handler(OAuthError, _oauth_error)
    throttle = LogThrottle(log_repeat_seconds)

    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        if not is_unavailable(error):
            raise error  # a query that is wrong, not a database that is away: a 500, with its traceback logged
        # What the driver said, for the operator: once per interval while an outage lasts, with a count.
        said = first_line(error)
        repeated = throttle.admit(said)
        if repeated is not None:
            logger.warning("database unavailable path=%s repeated=%d: %s", request.url.path, repeated, said)
        return oauth_error_response(unavailable("The database is", "database_unavailable"))

    for error_type in DATABASE_FAILURES:
        app.add_exception_handler(error_type, database_unavailable)
