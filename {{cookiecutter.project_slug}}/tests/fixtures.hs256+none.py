"""hs256 fixtures: a fixed test secret, and the key built from it."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.verifier import ALGORITHM, Settings, signing_key

from .support import AUDIENCE, ISSUER, Signer

# Any change to a signed token's text must be refused.
SIGNATURES_CHECKED = True

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, secret=SECRET, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def signer(settings: Settings) -> Signer:
    return Signer(signing_key(settings), ALGORITHM)
