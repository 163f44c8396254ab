"""Login bakes' fixtures: settings on a freshly migrated database for each test, and the signing key.

The database is SQLite unless a test module parametrizes ``backend`` over ``BACKENDS``:
then it runs on a throwaway PostgreSQL server too (see ``postgres.py``).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from {{ cookiecutter.package_name }} import users
from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.db import create_engine, upgrade
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.verifier import ALGORITHM, signing_key

from .live import Cli, environment
from .postgres import PostgresServer, require_bindir, running_postgres
from .support import AUDIENCE, ISSUER, Signer

# The login's own fixtures: what it adds to the settings (``login_settings``), and its peers.
pytest_plugins = ["tests.login_fixtures"]

# Any change to a signed token's text must be refused.
SIGNATURES_CHECKED = True

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
# ``pytestmark = pytest.mark.parametrize("backend", BACKENDS)`` runs a module's tests on both.
BACKENDS = ["sqlite", "postgresql"]
_database_numbers = itertools.count()


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session, holding a migrated template database."""
    with running_postgres(require_bindir()) as server:
        asyncio.run(create_database(server, "migrated"))
        asyncio.run(migrate(server.url("migrated")))
        yield server


async def create_database(server: PostgresServer, name: str, template: str = "template1") -> None:
    connection = await asyncpg.connect(server.url().replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await connection.close()


@pytest.fixture
def backend() -> str:
    """The database the test runs on; a module parametrizes it to run on both."""
    return "sqlite"


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database of its own for each test: a copy of the migrated one."""
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"test_{next(_database_numbers)}"
        asyncio.run(create_database(server, name, template="migrated"))
        return server.url(name)
    copy = tmp_path / "service.db"
    shutil.copyfile(request.getfixturevalue("migrated_database"), copy)
    return sqlite_url(copy)


@pytest.fixture
def settings(database_url: str, login_settings: dict[str, Any]) -> Settings:
    return Settings(
        _env_file=None, secret=SECRET, issuer=ISSUER, audience=AUDIENCE, database_url=database_url, **login_settings
    )


@pytest.fixture
def signer(settings: Settings) -> Signer:
    return Signer(signing_key(settings), ALGORITHM)


@pytest.fixture
async def accounts(settings: Settings) -> AsyncIterator[Accounts]:
    """The service's accounts (database, sessions, revocation view), started and closed around a test."""
    accounts = Accounts(settings)
    await accounts.start()
    yield accounts
    await accounts.aclose()


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    """Run the users CLI in this process, configured by the environment as an operator would."""
    monkeypatch.chdir(tmp_path)  # no .env of the project's own
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            status = users.main(list(args))
        except SystemExit as exit_:
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return run
