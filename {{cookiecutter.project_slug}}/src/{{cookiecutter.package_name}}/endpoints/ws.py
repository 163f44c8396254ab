"""A protected WebSocket: ``main.py`` guards it like any router, with ``has_access``.

The token is checked once, on the handshake, from the ``Authorization`` header:
a missing or bad token closes the socket with code 1008 before it is accepted.
A socket must not outlive its token: it is closed with 1008 once ``exp`` passes,
or at the next message once the authenticator refuses the token it was opened with.
"""

from __future__ import annotations

import asyncio
import math
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from ..authenticator import Authenticator
from ..claims import TokenClaims
from ..dependency import Claims

router = APIRouter(tags=["ws"])


def seconds_left(claims: TokenClaims) -> float:
    """How long the token stays valid; a token without ``exp`` never runs out."""
    return math.inf if claims.exp is None else claims.exp - time.time()


@router.websocket("")
async def echo(websocket: WebSocket, claims: Claims) -> None:
    """Greet the caller by ``sub``, then echo text messages for as long as the token is valid."""
    authenticator: Authenticator = websocket.app.state.authenticator
    await websocket.accept()
    await websocket.send_json({"hello": claims.sub, "scopes": sorted(claims.scopes)})
    reason = "Token expired"
    try:
        while (left := seconds_left(claims)) > 0:
            text = await asyncio.wait_for(websocket.receive_text(), timeout=None if left == math.inf else left)
            if authenticator.refusal_now(claims) is not None:
                reason = "Token revoked"
                break
            await websocket.send_text(text)
    except WebSocketDisconnect:
        return
    except TimeoutError:
        pass  # the token expired while the socket was idle
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
