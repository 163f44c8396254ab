"""jwks fixtures: a real provider on 127.0.0.1 and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import Provider
from .support import AUDIENCE, Signer

# Any change to a signed token's text must be refused.
SIGNATURES_CHECKED = True


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
        http_timeout_seconds=1,
        jwks_refetch_cooldown_seconds=30,
        jwks_failure_backoff_seconds=30,
    )
