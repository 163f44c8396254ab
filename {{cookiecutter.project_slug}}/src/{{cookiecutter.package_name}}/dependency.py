"""FastAPI dependencies that guard the routes: ``has_access`` and ``require_scopes``.

Errors follow RFC 6750 §3: a missing token gets a bare ``Bearer`` challenge,
a bad one ``error="invalid_token"``, a missing scope 403 ``insufficient_scope``.
On a WebSocket the same failures close the socket with code 1008.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, WebSocketException, status
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .auth import Authenticator, KeyUnavailableError
from .tokens import InvalidTokenError, TokenClaims

logger = logging.getLogger(__name__)


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of the request's one ``Authorization: Bearer <token>`` header, or None."""
    values = conn.headers.getlist("authorization")
    if len(values) != 1:
        return None
    scheme, _, token = values[0].partition(" ")
    if scheme.lower() != "bearer" or not token or token != token.strip(" "):
        return None
    return token


def _log(level: int, decision: str, reason: str, sub: str | None = None) -> None:
    """Log one decision as ``key=value`` (values JSON-quoted) and as ``extra`` fields: never the token."""
    if logger.isEnabledFor(level):
        fields = {"auth_decision": decision, "auth_reason": reason, "auth_sub": sub}
        logger.log(level, "auth %s reason=%s sub=%s", decision, reason, json.dumps(sub), extra=fields)


def _deny(conn: HTTPConnection, code: int, reason: str, headers: dict[str, str]) -> NoReturn:
    if conn.scope["type"] == "websocket":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
    raise HTTPException(status_code=code, detail=reason, headers=headers)


class BearerAccess(SecurityBase):
    """The guard of a route, in one async dependency: no sub-dependency, no threadpool hop.

    Being a ``SecurityBase``, it is documented in OpenAPI as a bearer JWT scheme.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT")
        self.scheme_name = "BearerJWT"

    async def __call__(self, conn: HTTPConnection) -> TokenClaims:
        """Return the verified claims of the request's bearer token, or refuse the request."""
        token = bearer_token(conn)
        if token is None:
            _log(logging.INFO, "denied", "missing_token")
            _deny(conn, 401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        authenticator: Authenticator = conn.app.state.authenticator
        try:
            claims = await authenticator.authenticate(token)
        except InvalidTokenError as exc:
            _log(logging.INFO, "denied", exc.reason)
            _deny(conn, 401, "Invalid token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        except KeyUnavailableError as exc:
            _log(logging.WARNING, "unavailable", exc.reason)
            _deny(conn, 503, "Signing keys unavailable", {"Retry-After": str(exc.retry_after)})
        _log(logging.DEBUG, "granted", "valid_token", claims.sub)
        return claims


has_access = BearerAccess()


Claims = Annotated[TokenClaims, Depends(has_access)]


def require_scopes(*scopes: str) -> Callable[[HTTPConnection, TokenClaims], Coroutine[Any, Any, TokenClaims]]:
    """Build a dependency that lets a request through only if its token has every scope."""
    needed = frozenset(scopes)
    challenge = f'Bearer error="insufficient_scope", scope="{" ".join(sorted(needed))}"'

    async def check_scopes(conn: HTTPConnection, claims: Claims) -> TokenClaims:
        if not needed <= claims.scopes:
            _log(logging.INFO, "denied", "insufficient_scope", claims.sub)
            _deny(conn, 403, "Insufficient scope", {"WWW-Authenticate": challenge})
        return claims

    return check_scopes
