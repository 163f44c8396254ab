"""Shared fixtures; the auth mode's own ones (``settings``, ``signer``) live in ``fixtures.py``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.keys import Settings
from {{ cookiecutter.package_name }}.main import create_app

from .support import Signer

# The auth mode's own fixtures: settings, signer (and, in jwks mode, provider).
pytest_plugins = ["tests.fixtures"]

Mint = Callable[..., str]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def mint(settings: Settings, signer: Signer) -> Mint:
    """Sign a token the service accepts; keyword arguments override claims, None drops one."""

    def make(**overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"sub": "alice", "iss": settings.issuer, "aud": settings.audience}
        claims.update(iat=now, exp=now + 300)
        claims.update(overrides)
        kept = {name: value for name, value in claims.items() if value is not None}
        return tokens.sign(kept, signer.key, signer.alg, kid=signer.kid)

    return make
