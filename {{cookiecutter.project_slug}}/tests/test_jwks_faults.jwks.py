"""jwks mode when the provider surprises it: abrupt rotation, kid floods, huge key sets, outages at start-up."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
import uuid
from contextlib import ExitStack

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.jwks_cache import JwksPolicy, RefetchBudget
from {{ cookiecutter.package_name }}.swagger import OAUTH_SCHEME

from .fixtures import DISCOVERY, provider_app, sign
from .idp import Provider, make_key
from .support import Signer, bearer

JWKS_LOGGER = "{{ cookiecutter.package_name }}.jwks_cache"
DECISIONS_LOGGER = "{{ cookiecutter.package_name }}.dependency"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_random_kid(token: str) -> str:
    """The token under a header naming a kid nobody published (the signature no longer matters)."""
    header, claims, signature = token.split(".")
    fields = {**json.loads(base64.urlsafe_b64decode(header + "==")), "kid": uuid.uuid4().hex}
    return f"{b64(json.dumps(fields).encode())}.{claims}.{signature}"


def ec_public_jwk(kid: str) -> dict[str, str]:
    """The public JWK of a fresh P-256 key: a decoy in a large key set."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    x, y = (b64(value.to_bytes(32, "big")) for value in (numbers.x, numbers.y))
    return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"}


def wait_until(condition: object, seconds: float = 15) -> None:
    """Poll ``condition()`` (never the service over HTTP) until it holds or time runs out."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def is_ready(app: FastAPI) -> bool:
    """The readiness query itself, asked without sending the service a request."""
    return bool(app.state.authenticator.verifier.is_ready())


def test_first_token_of_a_provider_restarted_with_new_keys_gets_200() -> None:
    """A second after the service started, the provider restarts with a new key set and algorithm."""
    with ExitStack() as stack:
        with Provider() as before:
            old = before.add_key("RS256", kid="before")
            client = stack.enter_context(TestClient(provider_app(before)))
            assert client.get("/me", headers=bearer(sign(old, before.issuer))).status_code == 200
            time.sleep(1)
        after = Provider(port=before.port)
        new = after.add_key("ES256", kid="after")
        with after:
            first = client.get("/me", headers=bearer(sign(new, after.issuer)))
            withdrawn = client.get("/me", headers=bearer(sign(old, before.issuer)))
    assert first.status_code == 200
    assert withdrawn.status_code == 401
    assert (before.requests["/jwks"], after.requests["/jwks"]) == (1, 2)  # one refetch per unknown kid
    assert after.requests[DISCOVERY] == 0


def test_ttl_refreshes_never_spend_the_unknown_kid_budget(provider: Provider, signer: Signer) -> None:
    provider.cache_control = "max-age=0"
    app = provider_app(provider, jwks_min_ttl_seconds=0, jwks_failure_backoff_seconds=0, jwks_refetch_burst=1)
    token = sign(signer, provider.issuer)
    with TestClient(app) as client:
        for _ in range(4):  # each request finds the keys past their TTL: a refresh starts in the background
            assert client.get("/me", headers=bearer(token)).status_code == 200
            fetched = provider.requests["/jwks"]
            wait_until(lambda: provider.requests["/jwks"] > fetched)  # noqa: B023 (read at once)
        assert provider.requests["/jwks"] >= 5
        rotated = provider.rotate("ES256")
        assert client.get("/me", headers=bearer(sign(rotated, provider.issuer))).status_code == 200


def test_the_refetch_budget_is_a_small_burst_then_one_per_cooldown() -> None:
    budget = RefetchBudget(burst=3, cooldown=30)
    assert [budget.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert budget.take(129.0) is False
    assert budget.take(130.5) is True
    assert budget.take(131.0) is False
    assert RefetchBudget(burst=1, cooldown=0).take(0.0) is True  # a cooldown of 0 sets no limit


@pytest.mark.anyio
async def test_thousands_of_random_kids_cost_the_burst_then_nothing(provider: Provider, signer: Signer) -> None:
    policy = JwksPolicy()
    app = provider_app(provider, jwks_refetch_cooldown_seconds=policy.refetch_cooldown)
    good = sign(signer, provider.issuer)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.get("/me", headers=bearer(good))).status_code == 200
        started = time.monotonic()
        for _ in range(25):  # 2,500 random kids, in waves of 100 at once
            flood = [with_random_kid(good) for _ in range(100)]
            responses = await asyncio.gather(*(client.get("/me", headers=bearer(token)) for token in flood))
            assert {response.status_code for response in responses} == {401}
        elapsed = time.monotonic() - started
        assert (await client.get("/me", headers=bearer(good))).status_code == 200
    await app.state.authenticator.verifier.aclose()
    refetches = provider.requests["/jwks"] - 1
    assert 1 <= refetches <= policy.refetch_burst + elapsed // policy.refetch_cooldown


def test_a_thousand_key_jwks_with_the_signing_key_last_works(
    provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    signing = make_key("ES256", "signing", owner="large")
    provider.keys = []
    provider.extra_jwks_entries = [*(ec_public_jwk(f"decoy-{n}") for n in range(999)), signing.jwk]
    size = len(json.dumps(provider.documents("/jwks")))
    assert 150_000 < size < JwksPolicy().max_bytes
    token = sign(signing.signer, provider.issuer)
    with caplog.at_level(logging.INFO, logger=JWKS_LOGGER), TestClient(provider_app(provider)) as client:
        assert client.get("/ready").json() == {"ready": True}
        assert [client.get("/me", headers=bearer(token)).status_code for _ in range(3)] == [200, 200, 200]
    assert provider.requests["/jwks"] == 1
    assert "jwks loaded keys=1000 ttl=600s" in caplog.messages
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_service_started_during_an_outage_becomes_ready_with_no_traffic(caplog: pytest.LogCaptureFixture) -> None:
    with Provider() as down:
        down.add_key()
    app = provider_app(down, jwks_failure_backoff_seconds=0.2, swagger_client_id="docs")
    with caplog.at_level(logging.WARNING, logger=JWKS_LOGGER), TestClient(app) as client:
        assert client.get("/ready").status_code == 503
        assert OAUTH_SCHEME not in client.get("/openapi.json").json()["components"]["securitySchemes"]
        time.sleep(1.5)  # the provider stays down; nobody calls the service
        back = Provider(port=down.port)
        back.add_key()
        with back:
            wait_until(lambda: is_ready(app))
            assert client.get("/ready").status_code == 200
            assert OAUTH_SCHEME in client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert (back.requests[DISCOVERY], back.requests["/jwks"]) == (1, 1)
    failed = [record.created for record in caplog.records if record.getMessage().startswith("jwks fetch failed")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(failed)]
    assert len(gaps) >= 2
    assert all(gap >= 0.2 * 2**n for n, gap in enumerate(gaps))  # the retries back off


def test_keys_that_went_stale_with_no_traffic_come_back_by_themselves(provider: Provider) -> None:
    app = provider_app(provider, jwks_max_stale_seconds=0.5, jwks_failure_backoff_seconds=0.2)
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
        provider.behaviour = "error"
        wait_until(lambda: not is_ready(app))
        assert client.get("/ready").status_code == 503
        provider.behaviour = "ok"
        fetched = provider.requests["/jwks"]
        wait_until(lambda: is_ready(app))
        assert client.get("/ready").status_code == 200
    assert provider.requests["/jwks"] > fetched


@pytest.mark.anyio
async def test_an_outage_under_load_logs_once_per_interval_with_a_count(
    provider: Provider, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    interval = 0.5
    provider.behaviour = "error"
    app = provider_app(provider, log_repeat_seconds=interval)
    token = sign(signer, provider.issuer)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
        with caplog.at_level(logging.WARNING):  # every logger
            started = time.monotonic()
            for _ in range(10):
                responses = await asyncio.gather(*(client.get("/me", headers=bearer(token)) for _ in range(100)))
                assert {response.status_code for response in responses} == {503}
            elapsed = time.monotonic() - started
            await asyncio.sleep(interval)
            assert (await client.get("/me", headers=bearer(token))).status_code == 503
    await app.state.authenticator.verifier.aclose()
    lines = [record for record in caplog.records if record.name == DECISIONS_LOGGER]
    assert lines[0].getMessage() == "auth unavailable reason=http_500 sub=null"
    assert len(lines) <= 2 + elapsed / interval
    assert len(lines) + sum(vars(record)["auth_repeated"] for record in lines) == 1001  # each 503 logged or counted
    assert lines[-1].getMessage().endswith(f"repeated={vars(lines[-1])['auth_repeated']}")
    assert len(caplog.records) <= len(lines) + 1  # and the provider's failure once: the backoff holds the rest
