"""Login bakes' fixtures: settings on a freshly migrated SQLite database for each test, and the signing key."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.db import create_engine, upgrade
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.verifier import ALGORITHM, signing_key

from .support import AUDIENCE, ISSUER, Signer

# Any change to a signed token's text must be refused.
SIGNATURES_CHECKED = True

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrate(url: str) -> None:
    engine = create_engine(url, timeout=5)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file at the newest schema, migrated once and copied for each test."""
    path = tmp_path_factory.mktemp("schema") / "migrated.db"
    asyncio.run(migrate(sqlite_url(path)))
    return path


@pytest.fixture
def database_url(migrated_database: Path, tmp_path: Path) -> str:
    copy = tmp_path / "service.db"
    shutil.copyfile(migrated_database, copy)
    return sqlite_url(copy)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, secret=SECRET, issuer=ISSUER, audience=AUDIENCE, database_url=database_url)


@pytest.fixture
def signer(settings: Settings) -> Signer:
    return Signer(signing_key(settings), ALGORITHM)
