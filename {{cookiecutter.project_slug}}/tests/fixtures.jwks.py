"""jwks fixtures: a real provider on 127.0.0.1 and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import Provider
from .support import AUDIENCE, Signer, access_claims

# Any change to a signed token's text must be refused.
SIGNATURES_CHECKED = True
DISCOVERY = "/.well-known/openid-configuration"

# The baked claim mapping (scope claims, audience claim, required claims) with a test audience.
BAKED = Settings(_env_file=None, issuer="https://baked.test", audience=AUDIENCE, jwks_url=None)


def upstream_settings(issuer: str, **overrides: Any) -> Settings:
    """Settings for tokens of the npm ``oidc-provider`` at ``issuer`` (tests/upstream.py).

    It puts scopes in "scope" and the audience in "aud", and names no required or client claims,
    whatever the baked preset maps.
    """
    options: dict[str, Any] = {
        "audience": AUDIENCE,
        "jwks_url": None,
        "audience_claim": "aud",
        "scope_claims": "scope",
        "required_claims": "",
        "access_token_claims": "",
    }
    return Settings(_env_file=None, issuer=issuer, **{**options, **overrides})


def sign(signer: Signer, issuer: str, **extra: Any) -> str:
    """A valid token from ``issuer``, signed by ``signer``."""
    return tokens.sign(access_claims(BAKED, iss=issuer, **extra), signer.key, signer.alg, kid=signer.kid)


def provider_app(provider: Provider, **overrides: object) -> FastAPI:
    """The service pointed at ``provider`` by discovery, with test timings; ``overrides`` are settings."""
    options: dict[str, object] = {
        "issuer": provider.issuer,
        "audience": AUDIENCE,
        "jwks_url": None,
        "http_timeout_seconds": 5,  # generous, as in ``settings`` below; tests of timeouts set their own
        "jwks_refetch_cooldown_seconds": 30,
        "jwks_failure_backoff_seconds": 30,
    }
    options.update(overrides)
    return create_app(Settings(_env_file=None, **options))  # type: ignore[arg-type]


@pytest.fixture
def provider() -> Iterator[Provider]:
    """A running provider with one RS256 key, ``key-1``."""
    with Provider() as running:
        running.add_key("RS256")
        yield running


@pytest.fixture
def signer(provider: Provider) -> Signer:
    return provider.keys[0].signer


@pytest.fixture
def settings(provider: Provider) -> Settings:
    return Settings(
        _env_file=None,
        issuer=provider.issuer,
        audience=AUDIENCE,
        jwks_url=None,
        # Generous: on a busy CI machine a loopback fetch can take over a second. Tests of
        # timeouts set their own.
        http_timeout_seconds=5,
        jwks_refetch_cooldown_seconds=30,
        jwks_failure_backoff_seconds=30,
    )
