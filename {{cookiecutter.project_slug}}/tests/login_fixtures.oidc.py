"""The oidc login's own fixtures: a client of an upstream provider, for tests that do not log in.

Tests that do log in start a real provider and override ``login_settings``
(``test_login_oidc.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from .upstream import Client, UpstreamProvider

# Nothing listens on port 9 (discard) of loopback: the provider is "down", which only /login notices.
OFFLINE_PROVIDER = "http://127.0.0.1:9"


@pytest.fixture
def login_settings() -> dict[str, Any]:
    return {
        "login_issuer": OFFLINE_PROVIDER,
        "login_client_id": "svc",
        "login_client_secret": "svc-client-secret-0123456789abcdef",
        "login_redirect_uri": f"{OFFLINE_PROVIDER}/authorize",
    }


def logging_in_at(provider: UpstreamProvider, client: Client, redirect_uri: str) -> dict[str, Any]:
    """The login settings of a service that logs in at ``provider`` as ``client``."""
    return {
        "login_issuer": provider.issuer,
        "login_client_id": client.client_id,
        "login_client_secret": client.client_secret,
        "login_redirect_uri": redirect_uri,
    }
