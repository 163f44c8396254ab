"""jwks mode against a real provider on 127.0.0.1: discovery, caching, rotation, outages."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.jwks_cache import JwksPolicy, cache_ttl
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.tokens import SigningKey
from {{ cookiecutter.package_name }}.verifier import Settings

from .fixtures import DISCOVERY, provider_app, sign
from .idp import Provider
from .support import AUDIENCE, Mint, Signer, bearer

JWKS_LOGGER = "{{ cookiecutter.package_name }}.jwks_cache"


class HmacOverRawBytes(SigningKey):
    """An HMAC "key" made of arbitrary bytes, as an attacker would use (python-jose refuses PEM)."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def sign(self, message: bytes) -> bytes:
        return hmac.new(self.secret, message, hashlib.sha256).digest()


@pytest.fixture
async def cold_client(provider: Provider, signer: Signer) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    """An app whose lifespan has not run: no key has been fetched yet."""
    app = provider_app(provider, http_timeout_seconds=10)  # 200 requests at once on a loaded machine: be patient
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
        yield app, client
    await app.state.authenticator.verifier.aclose()


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_tokens_signed_by_provider_keys_are_accepted(provider: Provider, alg: str) -> None:
    signer = provider.add_key(alg)
    with TestClient(provider_app(provider)) as client:
        response = client.get("/me", headers=bearer(sign(signer, provider.issuer)))
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_jwks_url_skips_discovery(provider: Provider, signer: Signer) -> None:
    with TestClient(provider_app(provider, jwks_url=provider.jwks_url)) as client:
        assert client.get("/me", headers=bearer(sign(signer, provider.issuer))).status_code == 200
    assert provider.requests[DISCOVERY] == 0
    assert provider.requests["/jwks"] == 1


@pytest.mark.anyio
async def test_cold_start_under_200_requests_fetches_once(
    provider: Provider, signer: Signer, cold_client: tuple[FastAPI, httpx2.AsyncClient]
) -> None:
    _, client = cold_client
    token = sign(signer, provider.issuer)
    responses = await asyncio.gather(*(client.get("/me", headers=bearer(token)) for _ in range(200)))
    assert {response.status_code for response in responses} == {200}
    assert provider.requests[DISCOVERY] == 1
    assert provider.requests["/jwks"] == 1


def test_rotated_key_is_accepted_without_restart(provider: Provider, signer: Signer) -> None:
    with TestClient(provider_app(provider)) as client:
        assert client.get("/me", headers=bearer(sign(signer, provider.issuer))).status_code == 200
        rotated = provider.rotate("ES256")
        assert client.get("/me", headers=bearer(sign(rotated, provider.issuer))).status_code == 200
    assert provider.requests["/jwks"] == 2


@pytest.mark.parametrize("failure", ["error", "hang", "junk"])
def test_cached_keys_keep_working_while_provider_fails(provider: Provider, signer: Signer, failure: str) -> None:
    provider.cache_control = "max-age=0"
    app = provider_app(provider, jwks_min_ttl_seconds=0, jwks_failure_backoff_seconds=0, http_timeout_seconds=0.3)
    token = sign(signer, provider.issuer)
    with TestClient(app) as client:
        assert client.get("/me", headers=bearer(token)).status_code == 200
        provider.behaviour = failure  # type: ignore[assignment]
        for _ in range(5):
            started = time.monotonic()
            assert client.get("/me", headers=bearer(token)).status_code == 200
            assert time.monotonic() - started < 0.25
        assert client.get("/ready").status_code == 200


def test_cached_tokens_of_a_withdrawn_key_are_refused_once_keys_refresh(provider: Provider, signer: Signer) -> None:
    provider.cache_control = "max-age=0"
    app = provider_app(provider, jwks_min_ttl_seconds=0, jwks_failure_backoff_seconds=0)
    token = sign(signer, provider.issuer)
    with TestClient(app) as client:
        assert client.get("/me", headers=bearer(token)).status_code == 200
        provider.rotate()  # the provider withdraws key-1
        statuses = [client.get("/me", headers=bearer(token)).status_code]
        for _ in range(100):  # the refresh runs in the background; wait for it to land
            if statuses[-1] == 401:
                break
            time.sleep(0.02)
            statuses.append(client.get("/me", headers=bearer(token)).status_code)
    assert statuses[-1] == 401
    assert set(statuses) <= {200, 401}


def test_keys_past_their_maximum_stale_age_stop_serving(provider: Provider, signer: Signer) -> None:
    provider.cache_control = "max-age=0"
    app = provider_app(provider, jwks_min_ttl_seconds=0, jwks_failure_backoff_seconds=0, jwks_max_stale_seconds=0.2)
    token = sign(signer, provider.issuer)
    with TestClient(app) as client:
        assert client.get("/me", headers=bearer(token)).status_code == 200
        provider.behaviour = "error"
        time.sleep(0.3)  # let the cached keys pass their maximum stale age
        assert client.get("/me", headers=bearer(token)).status_code == 503
        assert client.get("/ready").status_code == 503
        provider.behaviour = "ok"
        assert client.get("/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("failure", ["error", "hang", "junk", "huge"])
@pytest.mark.anyio
async def test_no_key_ever_gets_503_with_retry_after_within_timeout(
    provider: Provider, signer: Signer, failure: str
) -> None:
    provider.behaviour = failure  # type: ignore[assignment]
    app = provider_app(provider, http_timeout_seconds=0.5)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
        started = time.monotonic()
        response = await client.get("/me", headers=bearer(sign(signer, provider.issuer)))
        elapsed = time.monotonic() - started
        again = await client.get("/me", headers=bearer(sign(signer, provider.issuer)))
        ready = await client.get("/ready")
    await app.state.authenticator.verifier.aclose()
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < 1.5
    assert again.status_code == 503
    assert ready.status_code == 503
    assert provider.requests[DISCOVERY] == 1  # the backoff held the second request back


def test_unreachable_provider_gets_503() -> None:
    with Provider() as provider:
        issuer = provider.issuer
        signer = provider.add_key()
    app = create_app(Settings(_env_file=None, issuer=issuer, audience=AUDIENCE, jwks_url=None))
    with TestClient(app) as client:
        response = client.get("/me", headers=bearer(sign(signer, issuer)))
    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_discovery_with_another_issuer_is_refused(provider: Provider, signer: Signer) -> None:
    provider.advertised_issuer = "https://attacker.test"
    app = provider_app(provider)
    with TestClient(app) as client:
        response = client.get("/me", headers=bearer(sign(signer, provider.issuer)))
    assert response.status_code == 503
    assert provider.requests["/jwks"] == 0


def test_unusable_keys_are_skipped_without_breaking_good_ones(
    provider: Provider, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    weak = provider.add_key("RS256", kid="weak", rsa_bits=1024)
    provider.extra_jwks_entries = [
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
        {**provider.keys[0].jwk, "kid": "enc", "use": "enc"},
        {**provider.keys[0].jwk, "kid": "hs", "alg": "HS256"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not-a-key",
        {"kty": "EC", "kid": "bad-curve", "crv": "P-999", "x": "AA", "y": "AA"},
        {"kty": "EC", "kid": "mismatch", "alg": "ES256", "crv": "P-384", "x": "AA", "y": "AA"},
        {**provider.keys[0].jwk, "kid": "slow", "e": "AQAAAAE"},  # a 40-bit exponent: each check slower
        {"kty": "RSA", "kid": "int", "n": 10**40, "e": "AQAB"},  # a library would allocate 10**40 bytes
    ]
    with caplog.at_level(logging.INFO, logger=JWKS_LOGGER), TestClient(provider_app(provider)) as client:
        assert client.get("/me", headers=bearer(sign(signer, provider.issuer))).status_code == 200
        assert client.get("/me", headers=bearer(sign(weak, provider.issuer))).status_code == 401
    # One line per fetch (the weak key's kid asked for one more); keys meant for something else are not counted.
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings == ["jwks keys skipped count=6 reasons=curve_mismatch:1,malformed:4,rsa_under_2048_bits:1"] * 2
    assert provider.requests["/jwks"] == 2


def test_hs256_signed_with_the_public_key_is_refused(provider: Provider, signer: Signer) -> None:
    public_pem = signer.key.public_key().to_pem()
    claims = {"sub": "mallory", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    forged = tokens.sign(claims, HmacOverRawBytes(public_pem), "HS256", kid=signer.kid)
    with TestClient(provider_app(provider)) as client:
        response = client.get("/me", headers=bearer(forged))
    assert response.status_code == 401
    assert provider.requests["/jwks"] == 1


def test_jku_and_x5u_headers_are_never_followed(provider: Provider, signer: Signer) -> None:
    with Provider("attacker") as attacker:
        evil = attacker.add_key("RS256", kid=signer.kid)
        claims = {"sub": "mallory", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300}
        headers = {"jku": attacker.jwks_url, "x5u": attacker.jwks_url, "jwk": attacker.keys[0].jwk}
        token = tokens.sign(claims, evil.key, "RS256", kid=signer.kid, headers=headers)
        with TestClient(provider_app(provider)) as client:
            assert client.get("/me", headers=bearer(token)).status_code == 401
        assert sum(attacker.requests.values()) == 0


def test_readiness_reports_whether_keys_are_loaded(provider: Provider, signer: Signer) -> None:
    provider.behaviour = "error"
    with TestClient(provider_app(provider)) as client:
        assert client.get("/ready").json() == {"ready": False}
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, 600), ("max-age=120", 120), ("public, max-age=5", 60), ("max-age=999999", 86400), ("no-store", 60)],
)
def test_cache_control_max_age_is_honoured_within_bounds(header: str | None, expected: float) -> None:
    assert cache_ttl(header, JwksPolicy()) == expected


def test_token_with_mint_fixture_is_accepted(client: TestClient, mint: Mint) -> None:
    assert client.get("/me", headers=bearer(mint())).status_code == 200
