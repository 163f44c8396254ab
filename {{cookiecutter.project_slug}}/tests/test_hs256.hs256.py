"""hs256 mode: only HS256 with our secret is accepted, and weak secrets never start."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.verifier import Settings

from .fixtures import SECRET
from .support import Mint, bearer


def test_token_signed_with_another_secret_is_refused(client: TestClient) -> None:
    forged = tokens.sign(
        {"sub": "mallory", "iss": "https://issuer.test", "aud": "api://test", "exp": int(time.time()) + 300},
        tokens.load_key("another-secret-0123456789-abcdefghijklmnop", "HS256"),
        "HS256",
    )
    response = client.get("/me", headers=bearer(forged))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_tampered_payload_is_refused(client: TestClient, mint: Mint) -> None:
    header, _, signature = mint(sub="alice").split(".")
    other_claims = mint(sub="admin").split(".")[1]
    response = client.get("/me", headers=bearer(f"{header}.{other_claims}.{signature}"))
    assert response.status_code == 401


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_with_our_secret_are_refused(client: TestClient, alg: str) -> None:
    token = tokens.sign(
        {"sub": "alice", "iss": "https://issuer.test", "aud": "api://test", "exp": int(time.time()) + 300},
        tokens.load_key(SECRET, alg),
        alg,
    )
    assert client.get("/me", headers=bearer(token)).status_code == 401


def test_missing_exp_is_refused(client: TestClient, mint: Mint) -> None:
    assert client.get("/me", headers=bearer(mint(exp=None))).status_code == 401


@pytest.mark.parametrize("secret", ["change-me", "short-secret", "secret-but-still-a-placeholder-value-123"])
def test_weak_or_placeholder_secret_stops_start_up(secret: str) -> None:
    with pytest.raises(ValidationError, match="AUTH_SECRET"):
        Settings(_env_file=None, secret=secret)


def test_missing_secret_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_SECRET", raising=False)
    with pytest.raises(ValidationError, match="secret"):
        Settings(_env_file=None)


def test_refused_secret_is_not_echoed_into_the_start_up_error() -> None:
    weak = "short-but-real-looking-secret-x"
    with pytest.raises(ValidationError, match="AUTH_SECRET") as refused:
        Settings(_env_file=None, secret=weak)
    assert weak not in str(refused.value)
