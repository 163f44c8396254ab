"""The verified-token cache: bounded, exact, only for tokens that passed every check."""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.authenticator import Authenticator, VerifiedTokenCache
from {{ cookiecutter.package_name }}.claims import TokenClaims, validate_claims
from {{ cookiecutter.package_name }}.tokens import ParsedToken

from .support import AppFactory, Mint, bearer

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def large(mint: Mint, **claims: object) -> str:
    """A token of about 6 KB, as a user in a hundred groups gets from Entra ID or Keycloak."""
    return mint(jti=uuid.uuid4().hex, groups=[str(uuid.uuid4()) for _ in range(110)], **claims)


def count_signature_checks(authenticator: Authenticator) -> list[ParsedToken]:
    """Record every token whose signature the authenticator asks to check."""
    checked: list[ParsedToken] = []
    check = authenticator.verifier.check

    async def counting(token: ParsedToken) -> None:
        checked.append(token)
        await check(token)

    authenticator.verifier.check = counting  # type: ignore[method-assign]
    return checked


def test_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = VerifiedTokenCache(2, max_bytes=1 << 20)
    claims = {name: TokenClaims(sub=name) for name in ("a", "b", "c")}
    cache.put("a", claims["a"])
    cache.put("b", claims["b"])
    assert cache.get("a") == claims["a"]  # "a" is now the most recently used
    cache.put("c", claims["c"])
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == claims["a"]
    assert cache.get("c") == claims["c"]


def test_cached_claims_cannot_be_changed_by_a_route(app: FastAPI, client: TestClient, mint: Mint) -> None:
    token = mint()
    assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200
    cached = app.state.authenticator.cache.get(token)
    assert isinstance(cached, TokenClaims)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cached.sub = "someone else"  # type: ignore[misc]
    assert app.state.authenticator.cache.get(token) is cached


def test_a_cached_token_is_not_verified_again(app: FastAPI, client: TestClient, mint: Mint) -> None:
    checked = count_signature_checks(app.state.authenticator)
    token = mint()
    for _ in range(3):
        assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200
    assert len(checked) == 1


@pytest.fixture
def uncached_client(make_app: AppFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    app = make_app(token_cache_size=0)
    with TestClient(app) as client:
        yield app, client


def test_cache_size_zero_verifies_every_request(uncached_client: tuple[FastAPI, TestClient], mint: Mint) -> None:
    app, client = uncached_client
    checked = count_signature_checks(app.state.authenticator)
    token = mint()
    for _ in range(3):
        assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200
    assert len(checked) == 3
    assert len(app.state.authenticator.cache) == 0


@pytest.mark.parametrize(
    "claims",
    [{"exp": 1}, {"audience": "api://someone-else"}, {"iss": "https://evil.test"}, {"sub": None}],
    ids=repr,
)
def test_refused_tokens_never_enter_the_cache(
    app: FastAPI, client: TestClient, mint: Mint, claims: dict[str, object]
) -> None:
    token = mint(**claims)
    for _ in range(2):
        assert client.get("/me", headers=bearer(token)).status_code == 401
    assert len(app.state.authenticator.cache) == 0


def test_another_spelling_of_a_cached_token_is_refused_and_not_cached(
    app: FastAPI, client: TestClient, mint: Mint
) -> None:
    token = mint()
    assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200
    # The signature's last character carries unused bits; setting one spells the same bytes differently.
    assert len(token.rpartition(".")[2]) % 4 != 0
    last = token[-1]
    respelled = token[:-1] + B64URL[B64URL.index(last) + 1]
    response = client.get("/me", headers=bearer(respelled))
    assert response.status_code == 401
    assert len(app.state.authenticator.cache) == 1


def hello(client: TestClient, token: str) -> int:
    return client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code


def test_cache_filled_with_large_tokens_stays_within_its_bytes(make_app: AppFactory, mint: Mint) -> None:
    cap = 256 * 1024
    app = make_app(token_cache_bytes=cap)
    big = [large(mint) for _ in range(30)]
    assert all(5000 < len(token) <= app.state.authenticator.settings.max_token_bytes for token in big)
    with TestClient(app) as client:
        for token in big:
            assert hello(client, token) == 200
        cache = app.state.authenticator.cache
        checked = count_signature_checks(app.state.authenticator)
        assert hello(client, big[-1]) == 200  # the newest are the ones kept
    entry = VerifiedTokenCache.entry_bytes(big[-1], cache.get(big[-1]))
    assert len(cache) in {cap // entry - 1, cap // entry}  # tokens differ in length by a few characters
    assert cache.nbytes <= cap
    assert checked == []


def test_a_token_larger_than_the_whole_cache_is_not_cached(make_app: AppFactory, mint: Mint) -> None:
    app = make_app(token_cache_bytes=16 * 1024)
    with TestClient(app) as client:
        assert hello(client, large(mint)) == 200
    assert len(app.state.authenticator.cache) == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": "openid profile email items:read", "name": "Alice Example", "email": "alice@example.com"},
        {"groups": [str(uuid.uuid4()) for _ in range(110)]},
        {"roles": [f"app-role-{n}" for n in range(300)]},
        {"scope": " ".join(f"s{n}" for n in range(900))},
    ],
    ids=["typical", "groups", "roles", "many-scopes"],
)
def test_entries_take_no_more_memory_than_they_are_counted(app: FastAPI, mint: Mint, claims: dict[str, object]) -> None:
    authenticator: Authenticator = app.state.authenticator
    max_bytes = authenticator.settings.max_token_bytes
    made = [mint(jti=uuid.uuid4().hex, **claims) for _ in range(100)]
    cache = VerifiedTokenCache(len(made), max_bytes=1 << 30)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for token in made:
            fresh = (token + " ")[:-1]  # a string of its own, as each request brings
            parsed = tokens.parse(fresh, max_bytes=max_bytes, algorithms=authenticator.verifier.algorithms)
            cache.put(fresh, validate_claims(parsed.claims, authenticator.rules))
            del parsed
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == len(made)
    assert used <= cache.nbytes
