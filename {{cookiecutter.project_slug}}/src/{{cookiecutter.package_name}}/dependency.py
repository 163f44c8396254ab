"""The dependency that guards the routes: ``has_access``, and the ``Claims`` alias routes receive.

Protect a router with ``dependencies=[Depends(has_access)]``; require scopes on
a route with ``Security(has_access, scopes=[...])``, which OpenAPI shows.
Errors follow RFC 6750 §3: a missing token gets a bare ``Bearer`` challenge,
a bad one ``error="invalid_token"``, a missing scope 403 ``insufficient_scope``.
On a WebSocket the same failures close the socket with code 1008.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, NoReturn

from fastapi import HTTPException, Security, WebSocketException, status
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .authenticator import Authenticator
from .claims import TokenClaims
from .errors import InvalidTokenError, KeyUnavailableError

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

    async def __call__(self, conn: HTTPConnection, required: SecurityScopes) -> TokenClaims:
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
        if required.scopes and not claims.scopes.issuperset(required.scopes):
            _log(logging.INFO, "denied", "insufficient_scope", claims.sub)
            challenge = f'Bearer error="insufficient_scope", scope="{" ".join(sorted(required.scopes))}"'
            _deny(conn, 403, "Insufficient scope", {"WWW-Authenticate": challenge})
        _log(logging.DEBUG, "granted", "valid_token", claims.sub)
        return claims


has_access = BearerAccess()

# What a route receives: ``claims: Claims``, or ``Annotated[TokenClaims, Security(has_access, scopes=[...])]``.
Claims = Annotated[TokenClaims, Security(has_access)]
