"""The dependency that guards the routes: ``has_access``, and the ``Claims`` alias routes receive.

Protect a router with ``dependencies=[Depends(has_access)]``; require scopes on
a route with ``Security(has_access, scopes=[...])``, which OpenAPI shows.
Errors follow RFC 6750 §3: a missing token gets a bare ``Bearer`` challenge,
a bad one ``error="invalid_token"``, a missing scope 403 ``insufficient_scope``,
two ``Authorization`` headers 400 ``invalid_request``.
On a WebSocket the same failures close the socket with code 1008, and
``receive_text_while_valid`` closes it once the token runs out or is revoked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Annotated, Any, NoReturn

from fastapi import HTTPException, Security, WebSocket, WebSocketException, status
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .authenticator import Authenticator
from .claims import TokenClaims
from .errors import InvalidProofError, InvalidRequestError, InvalidTokenError, KeyUnavailableError
from .log_throttle import LogThrottle
from .presentation import credentials

logger = logging.getLogger(__name__)
# Where a request's verified (scheme, claims) are kept for the rest of the request.
VERIFIED = f"{__name__}.verified"
NO_AUTHENTICATOR = (
    "has_access guards a route of an app that create_app() did not build; "
    "a FastAPI app mounted on the service must share its state first: sub_app.state = app.state"
)


def _log(level: int, decision: str, reason: str, sub: str | None = None, throttle: LogThrottle | None = None) -> None:
    """Log one decision as ``key=value`` (values JSON-quoted) and as ``extra`` fields: never the token.

    With a ``throttle``, a run of identical decisions is logged once per interval, with the count held back.
    """
    if logger.isEnabledFor(level):
        repeated = 0 if throttle is None else throttle.admit((decision, reason, sub))
        if repeated is None:
            return
        fields = {"auth_decision": decision, "auth_reason": reason, "auth_sub": sub, "auth_repeated": repeated}
        if repeated:
            message = "auth %s reason=%s sub=%s repeated=%d"
            logger.log(level, message, decision, reason, json.dumps(sub), repeated, extra=fields)
        else:
            logger.log(level, "auth %s reason=%s sub=%s", decision, reason, json.dumps(sub), extra=fields)


def _deny(conn: HTTPConnection, code: int, reason: str, headers: dict[str, str]) -> NoReturn:
    if conn.scope["type"] == "websocket":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
    raise HTTPException(status_code=code, detail=reason, headers=headers)


class BearerAccess(SecurityBase):
    """The guard of a route, in one async dependency: no sub-dependency, no threadpool hop.

    Being a ``SecurityBase``, it is documented in OpenAPI as a bearer JWT scheme.
    A token verified before costs no coroutine and no lookup through Starlette's
    ``State`` or ``Headers``: a few dictionary lookups in all.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT")
        self.scheme_name = "BearerJWT"
        # The last app served and its authenticator: app.state's attribute lookup costs a microsecond.
        self._served: tuple[object, Authenticator | None] = (None, None)

    async def __call__(self, conn: HTTPConnection, required: SecurityScopes) -> TokenClaims:
        """Return the verified claims of the request's token, or refuse the request."""
        scope = conn.scope
        # A route with scopes runs this twice (router guard, then Security): the second run reuses the first.
        verified: tuple[str, TokenClaims] | None = scope.get(VERIFIED)
        if verified is None:
            authenticator = self.authenticator_of(scope["app"])
            presentation = authenticator.presentation
            try:
                found = credentials(scope)
            except InvalidRequestError as exc:
                _log(logging.INFO, "denied", exc.reason, throttle=authenticator.log_throttle)
                challenge = presentation.challenge(None, "invalid_request")
                _deny(conn, 400, "Invalid request", {"WWW-Authenticate": challenge})
            if found is None or found[0] not in presentation.schemes:
                _log(logging.INFO, "denied", "missing_token", throttle=authenticator.log_throttle)
                _deny(conn, 401, "Not authenticated", {"WWW-Authenticate": presentation.challenge(None)})
            scheme, token = found
            try:
                claims = authenticator.cached(token)
                if claims is None:
                    claims = await authenticator.verify(token)
                if scheme != "bearer" or claims.jkt is not None:  # else every presentation accepts it
                    presentation.check(conn, scheme, token, claims)
            except (InvalidTokenError, InvalidProofError, KeyUnavailableError) as exc:
                _refuse(conn, authenticator, scheme, exc)
            verified = scope[VERIFIED] = (scheme, claims)
            if logger.isEnabledFor(logging.DEBUG):
                _log(logging.DEBUG, "granted", "valid_token", claims.sub)
        scheme, claims = verified
        if required.scopes and not claims.scopes.issuperset(required.scopes):
            authenticator = self.authenticator_of(scope["app"])
            _log(logging.INFO, "denied", "insufficient_scope", claims.sub, authenticator.log_throttle)
            challenge = authenticator.presentation.challenge(
                scheme, "insufficient_scope", " ".join(sorted(required.scopes))
            )
            _deny(conn, 403, "Insufficient scope", {"WWW-Authenticate": challenge})
        return claims

    def authenticator_of(self, app: Any) -> Authenticator:
        """The authenticator ``create_app`` gave ``app``, remembered for the next request to the same app."""
        served, authenticator = self._served
        if served is app and authenticator is not None:
            return authenticator
        found: Authenticator | None = getattr(app.state, "authenticator", None)
        if found is None:
            raise RuntimeError(NO_AUTHENTICATOR)
        self._served = (app, found)
        return found


def _refuse(
    conn: HTTPConnection,
    authenticator: Authenticator,
    scheme: str,
    exc: InvalidTokenError | InvalidProofError | KeyUnavailableError,
) -> NoReturn:
    """Refuse a request whose token (or proof) failed: 401 with the scheme's challenge, or 503."""
    throttle, presentation = authenticator.log_throttle, authenticator.presentation
    if isinstance(exc, KeyUnavailableError):
        _log(logging.WARNING, "unavailable", exc.reason, throttle=throttle)
        _deny(conn, 503, "Signing keys unavailable", {"Retry-After": str(exc.retry_after)})
    _log(logging.INFO, "denied", exc.reason, throttle=throttle)
    proof = isinstance(exc, InvalidProofError)
    challenge = presentation.challenge(scheme, "invalid_dpop_proof" if proof else "invalid_token")
    _deny(conn, 401, "Invalid DPoP proof" if proof else "Invalid token", {"WWW-Authenticate": challenge})


has_access = BearerAccess()


# What a route receives: ``claims: Claims``, or ``Annotated[TokenClaims, Security(has_access, scopes=[...])]``.
Claims = Annotated[TokenClaims, Security(has_access)]


async def receive_text_while_valid(websocket: WebSocket, claims: TokenClaims) -> str:
    """The socket's next text message, while the token it was opened with is still good.

    The handshake checked the token once; a socket lives on, so every WebSocket route of yours reads
    through this: once ``exp`` passes (idle or not), or the authenticator refuses the token now
    (``Authenticator.refusal_now``), it raises ``WebSocketException``, which closes the socket with
    1008 and the reason.
    """
    left = math.inf if claims.exp is None else claims.exp - time.time()  # no exp (dev mode): no end
    try:
        if left <= 0:
            raise TimeoutError  # noqa: TRY301 - handled just below, as a timeout that already ran out
        text = await asyncio.wait_for(websocket.receive_text(), timeout=None if left == math.inf else left)
    except TimeoutError:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="Token expired") from None
    authenticator = has_access.authenticator_of(websocket.scope["app"])
    if authenticator.refusal_now(claims) is not None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="Token revoked")
    return text
