"""Shared fixtures; the auth mode's own ones (``settings``, ``signer``) live in ``fixtures.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .support import AppFactory, Mint, Signer, access_claims

# The auth mode's own fixtures: settings, signer (and, in jwks mode, provider).
pytest_plugins = ["tests.fixtures"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def make_app(settings: Settings) -> AppFactory:
    """Build the app with some settings changed: ``make_app(token_cache_size=0)``."""

    def make(**changes: Any) -> FastAPI:
        return create_app(settings.model_copy(update=changes))

    return make


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def mint(settings: Settings, signer: Signer) -> Mint:
    """Sign a token the service accepts; keywords as for ``support.access_claims``."""

    def make(**overrides: Any) -> str:
        return tokens.sign(access_claims(settings, **overrides), signer.key, signer.alg, kid=signer.kid)

    return make
