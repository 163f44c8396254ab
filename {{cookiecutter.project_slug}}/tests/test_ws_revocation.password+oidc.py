"""A WebSocket does not outlive the revocation of its token: the next message closes it with 1008."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .support import bearer

POLICY_VIOLATION = 1008


def test_a_socket_closes_at_the_next_message_once_its_token_is_revoked(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        accounts: Accounts = client.app.state.accounts  # type: ignore[attr-defined]
        issued = accounts.sessions.signer.sign("erin", "a-session", "", now=int(time.time()), not_before=0)
        with client.websocket_connect("/ws", headers=bearer(issued.token)) as websocket:
            assert websocket.receive_json()["hello"] == "erin"
            websocket.send_text("before")
            assert websocket.receive_text() == "before"
            accounts.revocations.deny(issued.jti, issued.expires_at + 30)  # as logout does, in every worker
            websocket.send_text("after")
            closed = websocket.receive()
    assert closed == {"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "Token revoked"}
