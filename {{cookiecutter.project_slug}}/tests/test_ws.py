"""The protected WebSocket at ``/ws``: a good token connects, anything else is closed with 1008."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from .support import Mint, bearer

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
