"""A protected WebSocket: ``main.py`` guards it like any router, with ``has_access``.

The token is checked once, on the handshake, from the ``Authorization`` header:
a missing or bad token closes the socket with code 1008 before it is accepted.
A socket must not outlive its token: reading through ``receive_text_while_valid``,
it is closed with 1008 once ``exp`` passes, or at the next message once the
authenticator refuses the token it was opened with.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..dependency import Claims, receive_text_while_valid

router = APIRouter(tags=["ws"])


@router.websocket("")
async def echo(websocket: WebSocket, claims: Claims) -> None:
    """Greet the caller by ``sub``, then echo text messages for as long as the token is valid."""
    await websocket.accept()
    await websocket.send_json({"hello": claims.sub, "scopes": sorted(claims.scopes)})
    try:
        while True:
            await websocket.send_text(await receive_text_while_valid(websocket, claims))
    except WebSocketDisconnect:
        pass  # the client left
