"""The verified-token cache: bounded, exact, only for tokens that passed every check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.authenticator import Authenticator, VerifiedTokenCache
from {{ cookiecutter.package_name }}.claims import TokenClaims
from {{ cookiecutter.package_name }}.tokens import ParsedToken

from .support import AppFactory, Mint, bearer

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


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
    cache = VerifiedTokenCache(2)
    claims = {name: TokenClaims(sub=name) for name in ("a", "b", "c")}
    cache.put("a", claims["a"])
    cache.put("b", claims["b"])
    assert cache.get("a") == claims["a"]  # "a" is now the most recently used
    cache.put("c", claims["c"])
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == claims["a"]
    assert cache.get("c") == claims["c"]


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
