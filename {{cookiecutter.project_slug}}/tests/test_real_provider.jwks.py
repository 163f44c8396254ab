"""jwks mode against a real OpenID provider: npm ``oidc-provider`` on 127.0.0.1, not written here.

Its access tokens are JWTs for this API, got the way a client gets them (code flow with PKCE),
and its keys are its own, fresh at every start. Against it: each kind of key it signs with, its
ID tokens presented as access tokens, the tokens it binds to a DPoP key, abrupt key rotation,
several issuers in one service each verified with its own keys, tokens of one issuer signed
with another's key, an issuer nobody configured, outages of a running provider, and a service
started while its provider is down. ``tests/idp.py`` plays the provider where a real one cannot
misbehave on demand (junk documents, huge key sets, shared key sets, counted refetch budgets).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.swagger import OAUTH_SCHEME
from {{ cookiecutter.package_name }}.verifier import Settings

from .fixtures import DISCOVERY, upstream_settings
from .holder import Holder, dpop
from .support import AUDIENCE, bearer
from .upstream import Client, ProviderConfig, UpstreamProvider, log_in_over_http, running_provider

CLIENT = Client("api-client", ["http://127.0.0.1:9/signed-in"], client_secret="a-secret-of-the-client-0123456789")
SCOPE = "openid items:read"
JWKS = "/jwks"  # where oidc-provider publishes its keys
DECISIONS_LOGGER = "{{ cookiecutter.package_name }}.dependency"


def config(*algs: str) -> ProviderConfig:
    """A provider whose access tokens are JWTs for ``AUDIENCE``, signed with the first of ``algs``."""
    return ProviderConfig(
        clients=[CLIENT], algs=algs or ("RS256",), resource=AUDIENCE, audience=AUDIENCE, scopes="items:read"
    )


@pytest.fixture(scope="module")
def first() -> Iterator[UpstreamProvider]:
    with running_provider(config("RS256")) as running:
        yield running


@pytest.fixture(scope="module")
def second() -> Iterator[UpstreamProvider]:
    """Another issuer, with keys of its own (of another algorithm, too)."""
    with running_provider(config("ES256")) as running:
        yield running


def token_of(provider: UpstreamProvider) -> str:
    """An access token of the provider for ``AUDIENCE``."""
    token: str = issued(provider)["access_token"]
    return token


def issued(provider: UpstreamProvider, holder: Holder | None = None, **request: str) -> dict[str, Any]:
    """What the provider's token endpoint answers a client: a sign-in, then the code exchanged with PKCE.

    With a ``holder``, the token request carries its DPoP proof, so the token is bound to its key.
    ``request`` adds parameters to the authorization request, such as a ``nonce``.
    """
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = CLIENT.redirect_uris[0]
    with httpx2.Client(timeout=10) as http:
        metadata = http.get(f"{provider.issuer}{DISCOVERY}").json()
        query = {
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(16),
            **request,
        }
        login_url = f"{metadata['authorization_endpoint']}?{urlencode(query)}"
        back = log_in_over_http(http, login_url, redirect_uri, "dana")
        exchange = {
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(back).query)["code"][0],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        endpoint = metadata["token_endpoint"]
        proof = {} if holder is None else {"DPoP": holder.proof(None, method="POST", url=endpoint)}
        answer = http.post(endpoint, data=exchange, headers=proof, auth=(CLIENT.client_id, CLIENT.client_secret or ""))
    answer.raise_for_status()
    response: dict[str, Any] = answer.json()
    return response


def part(token: str, index: int) -> dict[str, Any]:
    """The header (0) or claims (1) of a compact JWS, decoded without any check."""
    segment = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def signed_with_key_of(provider: UpstreamProvider, claims: dict[str, Any], *, kid: str | None = None) -> str:
    """``claims`` signed with the provider's own private key, under its kid unless another is named."""
    jwk = provider.private_keys()[0]
    key = tokens.load_key(jwk, jwk["alg"])
    return tokens.sign(claims, key, jwk["alg"], kid=kid or jwk["kid"], headers={"typ": "at+jwt"})


def two_issuers(first: UpstreamProvider, second: UpstreamProvider, **overrides: Any) -> Settings:
    return upstream_settings(
        first.issuer, extra_issuers=second.issuer, algorithms=frozenset({"RS256", "ES256"}), **overrides
    )


def wait_until_ready(app: FastAPI, seconds: float = 15) -> bool:
    """Poll the readiness query itself, never the service over HTTP: no traffic reaches it meanwhile."""
    deadline = time.monotonic() + seconds
    while not app.state.authenticator.verifier.is_ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_tokens_the_provider_signs_with_each_kind_of_key_are_accepted(alg: str) -> None:
    with running_provider(config(alg)) as provider:
        token = token_of(provider)
        assert part(token, 0)["alg"] == alg
        with TestClient(create_app(upstream_settings(provider.issuer, algorithms=frozenset({alg})))) as client:
            assert client.get("/items", headers=bearer(token)).status_code == 200
        # Allowed algorithms are a list the token cannot widen: without its own, its key is never used.
        others = frozenset({"RS256", "PS256", "ES256", "EdDSA"} - {alg})
        with TestClient(create_app(upstream_settings(provider.issuer, algorithms=others))) as client:
            assert client.get("/items", headers=bearer(token)).status_code == 401


def test_a_key_the_provider_rotated_to_while_the_service_runs_is_accepted_at_once() -> None:
    with running_provider(config("RS256")) as provider:
        settings = upstream_settings(provider.issuer, algorithms=frozenset({"RS256", "ES256"}))
        with TestClient(create_app(settings)) as client:
            before = token_of(provider)
            assert client.get("/items", headers=bearer(before)).status_code == 200
            provider.restart(algs=("ES256",))  # a new key set, of another algorithm, under the same issuer
            after = token_of(provider)
            assert (part(before, 0)["alg"], part(after, 0)["alg"]) == ("RS256", "ES256")
            assert client.get("/items", headers=bearer(after)).status_code == 200  # at once: no wait, no restart
            assert client.get("/items", headers=bearer(before)).status_code == 401  # its key is withdrawn


def test_the_providers_id_token_is_never_taken_for_an_access_token(
    first: UpstreamProvider, caplog: pytest.LogCaptureFixture
) -> None:
    answer = issued(first, nonce=secrets.token_urlsafe(16))
    id_token, access = answer["id_token"], answer["access_token"]
    assert {"at_hash", "nonce"} <= part(id_token, 1).keys()  # as this provider issues them
    assert (part(id_token, 0)["typ"], part(access, 0)["typ"]) == ("JWT", "at+jwt")
    # With no audience check, the ID token's aud (the client) does not give it away; its claims do.
    lax = upstream_settings(first.issuer, audience="")
    with TestClient(create_app(lax)) as client, caplog.at_level(logging.INFO, logger=DECISIONS_LOGGER):
        assert client.get("/me", headers=bearer(access)).status_code == 200
        response = client.get("/me", headers=bearer(id_token))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert caplog.messages[-1] == "auth denied reason=id_token sub=null"
    # This provider types its access tokens (RFC 9068), so AUTH_REQUIRE_AT_JWT can be on: typ alone refuses.
    strict = upstream_settings(first.issuer, audience="", require_at_jwt=True, id_token_claims="")
    with TestClient(create_app(strict)) as client, caplog.at_level(logging.INFO, logger=DECISIONS_LOGGER):
        assert client.get("/me", headers=bearer(access)).status_code == 200
        assert client.get("/me", headers=bearer(id_token)).status_code == 401
    assert caplog.messages[-1] == "auth denied reason=typ_not_allowed sub=null"


def test_a_token_the_provider_bound_to_a_key_needs_that_keys_proof(first: UpstreamProvider) -> None:
    holder, other = Holder(), Holder(name="someone-else")
    answer = issued(first, holder)
    token = answer["access_token"]
    assert answer["token_type"] == "DPoP"
    assert part(token, 1)["cnf"] == {"jkt": holder.jkt}  # the provider bound it to the holder's key
    url, elsewhere = "http://testserver/items", "http://testserver/me"
    with TestClient(create_app(upstream_settings(first.issuer, dpop="allowed"))) as client:
        proof = holder.proof(token, url=url)
        assert client.get("/items", headers=dpop(token, proof)).status_code == 200
        # case -> (headers, the error its challenge names)
        refused = {
            "the same proof again": (dpop(token, proof), "invalid_dpop_proof"),
            "a proof of another key": (dpop(token, other.proof(token, url=url)), "invalid_dpop_proof"),
            "a proof for another URL": (dpop(token, holder.proof(token, url=elsewhere)), "invalid_dpop_proof"),
            "no proof": (dpop(token, None), "invalid_dpop_proof"),
            "as a bearer token": (bearer(token), "invalid_token"),
        }
        for case, (headers, error) in refused.items():
            response = client.get("/items", headers=headers)
            assert response.status_code == 401, case
            assert f'error="{error}"' in response.headers["WWW-Authenticate"], case
        assert client.get("/items", headers=dpop(token, holder.proof(token, url=url))).status_code == 200


def test_each_issuer_is_verified_with_its_own_keys(first: UpstreamProvider, second: UpstreamProvider) -> None:
    issued = {provider.issuer: token_of(provider) for provider in (first, second)}
    asked = {provider.issuer: (provider.requests(DISCOVERY), provider.requests(JWKS)) for provider in (first, second)}
    with TestClient(create_app(two_issuers(first, second))) as client:
        for provider in (first, second):
            token = issued[provider.issuer]
            assert part(token, 1)["iss"] == provider.issuer
            response = client.get("/items", headers=bearer(token))
            assert response.status_code == 200, response.text
    # Each issuer was discovered on its own, once, and its keys fetched once.
    for provider in (first, second):
        discovery, jwks = asked[provider.issuer]
        assert (provider.requests(DISCOVERY) - discovery, provider.requests(JWKS) - jwks) == (1, 1)


def test_a_key_of_one_issuer_never_verifies_a_token_claiming_another(
    first: UpstreamProvider, second: UpstreamProvider
) -> None:
    of_first, of_second = token_of(first), token_of(second)
    second_kid = part(of_second, 0)["kid"]
    forged = [
        # first's key, first's kid, claiming second: the key is known, but not for that issuer
        signed_with_key_of(first, {**part(of_first, 1), "iss": second.issuer}),
        # the same under second's kid: second's key does not verify first's signature
        signed_with_key_of(first, {**part(of_first, 1), "iss": second.issuer}, kid=second_kid),
        # second's key claiming first
        signed_with_key_of(second, {**part(of_second, 1), "iss": first.issuer}),
    ]
    with TestClient(create_app(two_issuers(first, second))) as client:
        assert client.get("/items", headers=bearer(of_first)).status_code == 200
        assert client.get("/items", headers=bearer(of_second)).status_code == 200
        for token in forged:
            response = client.get("/items", headers=bearer(token))
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        # The same claims signed by their own issuer pass: what was refused is the key, not the claims.
        assert client.get("/items", headers=bearer(signed_with_key_of(first, part(of_first, 1)))).status_code == 200


def test_a_token_of_an_issuer_nobody_configured_is_refused_before_any_request(
    first: UpstreamProvider, second: UpstreamProvider
) -> None:
    with running_provider(config("RS256")) as stranger:
        theirs = token_of(stranger)
        # The stranger's own token, and one of its key naming the kid of a key the service trusts.
        known_kid = part(token_of(first), 0)["kid"]
        refused = (theirs, signed_with_key_of(stranger, part(theirs, 1), kid=known_kid))
        with TestClient(create_app(two_issuers(first, second))) as client:
            asked = [provider.requests() for provider in (first, second, stranger)]
            for token in refused:
                response = client.get("/items", headers=bearer(token))
                assert response.status_code == 401
                assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
            assert [provider.requests() for provider in (first, second, stranger)] == asked


def test_an_outage_of_one_issuer_leaves_the_others_working(first: UpstreamProvider, second: UpstreamProvider) -> None:
    of_first = token_of(first)
    with second.stopped():  # connections refused while the service starts and serves
        settings = two_issuers(first, second, http_timeout_seconds=1)
        with TestClient(create_app(settings)) as client:
            assert client.get("/ready").status_code == 200  # readiness follows AUTH_ISSUER
            assert client.get("/items", headers=bearer(of_first)).status_code == 200
            claims = {**part(of_first, 1), "iss": second.issuer}
            response = client.get("/items", headers=bearer(signed_with_key_of(first, claims)))
            assert response.status_code == 503  # no key of second's can be had: not a 401 that blames the token
            assert int(response.headers["Retry-After"]) >= 1


def test_held_keys_keep_serving_while_the_provider_is_down_or_hangs() -> None:
    with running_provider(config("RS256")) as provider:
        token = token_of(provider)
        # Keys due for a refresh after 0.1 s: every request below finds them due, and a refresh failing.
        timings = {"jwks_min_ttl_seconds": 0, "jwks_max_ttl_seconds": 0.1, "jwks_failure_backoff_seconds": 0}
        app = create_app(upstream_settings(provider.issuer, http_timeout_seconds=0.5, **timings))
        with TestClient(app) as client:
            assert client.get("/items", headers=bearer(token)).status_code == 200
            for outage in (provider.paused, provider.stopped):
                with outage():
                    for _ in range(3):
                        time.sleep(0.15)
                        app.state.authenticator.cache.clear()  # so that the token is verified again
                        started = time.monotonic()
                        assert client.get("/items", headers=bearer(token)).status_code == 200
                        assert time.monotonic() - started < 0.4  # no request waits on the provider
                    assert client.get("/ready").status_code == 200


def test_a_provider_that_hangs_with_no_key_held_gets_503_within_the_timeout() -> None:
    with running_provider(config("RS256")) as provider:
        token = token_of(provider)
        with provider.paused():
            settings = upstream_settings(provider.issuer, http_timeout_seconds=0.5)
            with TestClient(create_app(settings)) as client:
                started = time.monotonic()
                response = client.get("/items", headers=bearer(token))
                assert time.monotonic() - started < 1.5
                assert response.status_code == 503
                assert int(response.headers["Retry-After"]) >= 1
                assert client.get("/ready").status_code == 503


def test_a_service_started_while_its_provider_is_down_heals_with_no_traffic() -> None:
    with running_provider(config("RS256")) as provider:
        provider.stop()
        settings = upstream_settings(provider.issuer, jwks_failure_backoff_seconds=0.2, swagger_client_id="docs")
        app = create_app(settings)
        with TestClient(app) as client:
            assert client.get("/ready").status_code == 503
            assert OAUTH_SCHEME not in client.get("/openapi.json").json()["components"]["securitySchemes"]
            time.sleep(1)  # still down; nobody calls the service
            asked = (provider.requests(DISCOVERY), provider.requests(JWKS))
            provider.start()
            assert wait_until_ready(app)  # by itself: no request reached the service
            assert (provider.requests(DISCOVERY) - asked[0], provider.requests(JWKS) - asked[1]) == (1, 1)
            assert client.get("/ready").status_code == 200
            assert OAUTH_SCHEME in client.get("/openapi.json").json()["components"]["securitySchemes"]
            assert client.get("/items", headers=bearer(token_of(provider))).status_code == 200
