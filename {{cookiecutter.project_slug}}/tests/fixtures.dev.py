"""dev fixtures: tokens may be signed with any key, since none is checked."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.verifier import ALGORITHM, Settings, signing_key

from .support import AUDIENCE, ISSUER, Signer

# dev mode checks no signature: a changed signature on a good token still passes.
SIGNATURES_CHECKED = False


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, issuer=ISSUER, audience=AUDIENCE, app_env="development")


@pytest.fixture
def signer(settings: Settings) -> Signer:
    return Signer(signing_key(settings), ALGORITHM)
