"""The protected WebSocket at ``/ws``: a good token connects, anything else is closed with 1008."""

from __future__ import annotations

import time

import pytest
from fastapi import WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from {{ cookiecutter.package_name }}.dependency import Claims, receive_text_while_valid

from .support import AppFactory, Mint, bearer

POLICY_VIOLATION = 1008


def refusal_code(client: TestClient, headers: dict[str, str]) -> int:
    """The close code of a handshake that must be refused."""
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws", headers=headers):
        pytest.fail("the handshake was accepted")
    return closed.value.code


def test_good_token_connects_and_is_greeted_then_echoed(client: TestClient, mint: Mint) -> None:
    with client.websocket_connect("/ws", headers=bearer(mint(sub="erin", scopes="items:read"))) as websocket:
        assert websocket.receive_json() == {"hello": "erin", "scopes": ["items:read"]}
        websocket.send_text("ping")
        assert websocket.receive_text() == "ping"


def test_missing_token_is_closed_with_policy_violation(client: TestClient) -> None:
    assert refusal_code(client, {}) == POLICY_VIOLATION


@pytest.mark.parametrize("header", ["Bearer not.a.token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_authorization_is_closed_with_policy_violation(client: TestClient, header: str) -> None:
    assert refusal_code(client, {"Authorization": header}) == POLICY_VIOLATION


def test_token_for_another_audience_is_closed_with_policy_violation(client: TestClient, mint: Mint) -> None:
    assert refusal_code(client, bearer(mint(audience="api://someone-else"))) == POLICY_VIOLATION


def test_expired_token_is_closed_with_policy_violation(client: TestClient, mint: Mint) -> None:
    assert refusal_code(client, bearer(mint(exp=int(time.time()) - 3600))) == POLICY_VIOLATION


def test_socket_is_closed_once_its_token_expires(client: TestClient, mint: Mint) -> None:
    # Inside the verifier's clock-skew leeway the handshake succeeds, but exp has
    # already passed: the socket is closed after the greeting, and "ping" is not echoed.
    with client.websocket_connect("/ws", headers=bearer(mint(exp=int(time.time()) - 1))) as websocket:
        assert websocket.receive_json()["hello"] == "alice"
        websocket.send_text("ping")
        assert websocket.receive() == {"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "Token expired"}


def test_a_socket_of_yours_that_reads_through_the_helper_closes_when_its_token_expires(
    make_app: AppFactory, mint: Mint
) -> None:
    app = make_app()

    async def shout(websocket: WebSocket, claims: Claims) -> None:
        await websocket.accept()
        while True:
            await websocket.send_text((await receive_text_while_valid(websocket, claims)).upper())

    app.add_api_websocket_route("/shout", shout)
    with TestClient(app) as client:
        token = mint(exp=int(time.time()) + 2)
        with client.websocket_connect("/shout", headers=bearer(token)) as websocket:
            websocket.send_text("hi")
            assert websocket.receive_text() == "HI"
            # Idle past exp: closed by the helper's own deadline, with no message from the client.
            closed = websocket.receive()
    assert closed == {"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "Token expired"}
