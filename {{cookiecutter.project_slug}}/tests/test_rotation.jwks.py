"""Abrupt key rotation at a real OpenID provider: npm ``oidc-provider`` on 127.0.0.1, not written here.

Its access tokens are JWTs for this API, got the way a client gets them (code flow with PKCE). The
provider restarts with a new key of another algorithm while the service runs: the first token signed
with that key is accepted at once, and a token of the withdrawn key no longer is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.main import create_app

from .fixtures import upstream_settings
from .support import AUDIENCE, bearer
from .upstream import Client, ProviderConfig, UpstreamProvider, log_in_over_http, running_provider

CLIENT = Client("api-client", ["http://127.0.0.1:9/signed-in"], client_secret="a-secret-of-the-client-0123456789")


def access_token(provider: UpstreamProvider) -> str:
    """An access token from the provider for ``AUDIENCE``: a sign-in, then the code exchanged with PKCE."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = CLIENT.redirect_uris[0]
    with httpx2.Client(timeout=10) as http:
        metadata = http.get(f"{provider.issuer}/.well-known/openid-configuration").json()
        query = {
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid items:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(16),
        }
        login_url = f"{metadata['authorization_endpoint']}?{urlencode(query)}"
        back = log_in_over_http(http, login_url, redirect_uri, "dana")
        code = parse_qs(urlsplit(back).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        answer = http.post(
            metadata["token_endpoint"], data=exchange, auth=(CLIENT.client_id, CLIENT.client_secret or "")
        )
    token: str = answer.json()["access_token"]
    return token


def header_of(token: str) -> dict[str, str]:
    segment = token.split(".", maxsplit=1)[0]
    header: dict[str, str] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


def test_a_key_the_provider_rotated_to_while_the_service_runs_is_accepted_at_once() -> None:
    config = ProviderConfig(
        clients=[CLIENT], algs=("RS256",), resource=AUDIENCE, audience=AUDIENCE, scopes="items:read"
    )
    with running_provider(config) as provider:
        settings = upstream_settings(provider.issuer, algorithms=frozenset({"RS256", "ES256"}))
        with TestClient(create_app(settings)) as client:
            before = access_token(provider)
            assert client.get("/items", headers=bearer(before)).status_code == 200
            provider.restart(algs=("ES256",))  # a new key set, of another algorithm, under the same issuer
            after = access_token(provider)
            assert (header_of(before)["alg"], header_of(after)["alg"]) == ("RS256", "ES256")
            assert client.get("/items", headers=bearer(after)).status_code == 200  # at once: no wait, no restart
            assert client.get("/items", headers=bearer(before)).status_code == 401  # its key is withdrawn
