"""The database layer: migrations shipped in the package, and a service that refuses a schema that is behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import WebSocket
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Connection, make_url, select, text, update
from sqlalchemy.exc import DBAPIError

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.current_user import CurrentUser
from {{ cookiecutter.package_name }}.db import SchemaError, SessionDep, create_engine
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.models import Base, User
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .fixtures import BACKENDS, create_database
from .live import add_user, run_module
from .postgres import PostgresServer
from .support import bearer

PACKAGE = "{{ cookiecutter.package_name }}"


def run_db(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("db", *args, env={"DATABASE_URL": database_url})


def test_service_refuses_to_start_on_an_empty_database_and_says_what_to_run(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"database_url": SecretStr(f"sqlite+aiosqlite:///{tmp_path}/empty.db")})
    refused = pytest.raises(SchemaError, match=rf"no tables yet.*python -m {PACKAGE}\.db upgrade")
    with refused, TestClient(create_app(empty)):
        pass


def test_upgrade_command_creates_the_schema_and_check_agrees(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    assert run_db(url, "check").returncode == 1
    upgraded = run_db(url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database schema upgraded from nothing to ")
    checked = run_db(url, "check")
    assert (checked.returncode, checked.stdout.strip()) == (0, "database schema is up to date")
    again = run_db(url, "upgrade")
    assert (again.returncode, again.stdout.strip()) == (0, "database schema is up to date: nothing to do")


def test_a_role_the_server_does_not_know_is_one_clear_line(postgres_server: PostgresServer) -> None:
    # asyncpg's driver raises this as a plain DBAPIError (SQLSTATE class 28), not an OperationalError.
    url = postgres_server.url().replace(f"{postgres_server.user}:{postgres_server.password}@", "nobody:wrong@")
    result = run_db(url, "check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the database: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


class DriverError(Exception):
    """What asyncpg's driver hands SQLAlchemy: an error with the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


# SQLSTATE -> the status a request that met it gets.
DATABASE_ERRORS = {
    "57P01": 503,  # admin shutdown
    "57P03": 503,  # cannot connect now: starting up or shutting down
    "53300": 503,  # too many connections
    "08006": 503,  # connection failure
    "3D000": 503,  # no such database
    "40001": 503,  # serialization failure: try again
    "40P01": 503,  # deadlock detected: try again
    "42P01": 500,  # no such table: a query that is wrong, not a database that is away
    "23505": 500,  # unique violation
}


@pytest.mark.parametrize(("sqlstate", "status"), DATABASE_ERRORS.items())
def test_a_database_that_cannot_serve_now_is_503_and_a_wrong_query_is_500(
    settings: Settings, sqlstate: str, status: int
) -> None:
    app = create_app(settings)

    async def meets_the_database() -> None:
        raise DBAPIError("SELECT 1", {}, DriverError(sqlstate))

    app.add_api_route("/meets-the-database", meets_the_database)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/meets-the-database")
    assert response.status_code == status
    if status == 503:
        assert (response.json()["error"], "retry-after" in response.headers) == ("temporarily_unavailable", True)


def test_on_sqlite_a_busy_database_is_503_and_a_missing_table_is_500(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings.model_copy(update={"database_timeout_seconds": 0.2}))

    async def reads_a_table_nobody_made(db: SessionDep) -> None:
        await db.execute(text("SELECT * FROM notes"))  # a migration forgotten: SQLite's OperationalError too

    async def writes(db: SessionDep) -> None:
        await db.execute(update(User).values(scopes="items:read"))
        await db.commit()

    app.add_api_route("/reads-a-missing-table", reads_a_table_nobody_made)
    app.add_api_route("/writes", writes)
    path = make_url(settings.database_url.get_secret_value()).database
    assert path is not None
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/reads-a-missing-table").status_code == 500  # a bug, not an outage
        holder = sqlite3.connect(path)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock past the busy timeout
        try:
            with caplog.at_level(logging.WARNING, logger=f"{PACKAGE}.oauth_errors"):
                busy = [client.get("/writes") for _ in range(3)]
        finally:
            holder.rollback()
            holder.close()
        assert client.get("/writes").status_code == 200
    for response in busy:
        assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
        assert response.json() == {
            "error": "temporarily_unavailable",
            "error_description": "The database is unavailable right now; try again later.",
        }
    logged = [record.getMessage() for record in caplog.records if record.name == f"{PACKAGE}.oauth_errors"]
    assert logged == ["database unavailable path=/writes repeated=0: database is locked"]  # then held back


def test_a_websocket_route_can_use_the_database_and_the_current_user(settings: Settings) -> None:
    app = create_app(settings)

    async def who(websocket: WebSocket, user: CurrentUser, db: SessionDep) -> None:
        await websocket.accept()
        await websocket.send_json({"id": user.id, "users": len((await db.scalars(select(User))).all())})
        await websocket.close()

    app.add_api_websocket_route("/who", who)
    user_id = add_user(settings, "wanda")
    with TestClient(app) as client:
        accounts: Accounts = client.app.state.accounts  # type: ignore[attr-defined]
        issued = accounts.sessions.signer.sign(user_id, "a-session", "", now=int(time.time()), not_before=0)
        with client.websocket_connect("/who", headers=bearer(issued.token)) as websocket:
            assert websocket.receive_json() == {"id": user_id, "users": 1}


@pytest.mark.parametrize("url", ["bogus", "sqlite:///./x.db", "postgresql://user@host/db"])
def test_a_database_url_without_an_async_driver_is_one_clear_line(url: str) -> None:
    result = run_db(url, "check")
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://" in result.stderr


def test_a_revision_only_newer_code_knows_is_named_as_such(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/newer.db"
    assert run_db(url, "upgrade").returncode == 0
    # As if newer code had migrated it. sqlite3's own "with" commits but does not close (Python 3.13 warns).
    with contextlib.closing(sqlite3.connect(tmp_path / "newer.db")) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    checked, upgraded = run_db(url, "check"), run_db(url, "upgrade")
    assert (checked.returncode, checked.stderr.count("\n")) == (1, 1)
    assert "0099, which this code does not know" in checked.stderr
    assert (upgraded.returncode, upgraded.stderr.count("\n")) == (1, 1), upgraded.stderr


def test_unreachable_database_is_one_clear_line() -> None:
    result = run_db("postgresql+asyncpg://nobody:secret@127.0.0.1:1/none", "check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the database")
    assert "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


NOTE_MODEL = """

class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
"""


def test_db_revision_writes_the_next_migration_for_a_change_to_the_models(tmp_path: Path) -> None:
    # A copy of the package, so that the migration is written there and not into this project.
    package = tmp_path / "src" / PACKAGE
    shutil.copytree(Path({{ cookiecutter.package_name }}.__file__).parent, package)
    env = {"PYTHONPATH": str(tmp_path / "src"), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/notes.db"}
    refused = run_module("db", "revision", "notes table", env=env)
    assert (refused.returncode, refused.stderr.count("\n")) == (1, 1)  # behind: upgrade first, it says
    assert "run: python -m" in refused.stderr
    assert run_module("db", "upgrade", env=env).returncode == 0
    with (package / "models.py").open("a", encoding="utf-8") as models:
        models.write(NOTE_MODEL)
    written = run_module("db", "revision", "notes table", env=env)
    assert written.returncode == 0, written.stderr
    versions = sorted(path.name for path in (package / "migrations" / "versions").glob("v*.py"))
    migration = package / "migrations" / "versions" / versions[-1]
    assert migration.name == f"v{len(versions):04d}_notes_table.py"
    assert str(migration) in written.stdout
    source = migration.read_text(encoding="utf-8")
    assert 'op.create_table(\n        "notes",' in source  # formatted as ruff formats this project
    assert run_module("db", "check", env=env).returncode == 1  # the new migration is not applied yet
    assert run_module("db", "upgrade", env=env).returncode == 0
    assert run_module("db", "check", env=env).returncode == 0


def test_replicas_that_migrate_at_once_all_succeed(postgres_server: PostgresServer) -> None:
    # As when every replica's start (or init container) runs db upgrade on a new database.
    asyncio.run(create_database(postgres_server, "migrated_at_once"))
    url = postgres_server.url("migrated_at_once")
    with ThreadPoolExecutor(max_workers=5) as pool:
        upgrades = list(pool.map(lambda _: run_db(url, "upgrade"), range(5)))
    assert [(done.returncode, done.stderr) for done in upgrades] == [(0, "")] * 5
    assert run_db(url, "check").returncode == 0


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrations_build_exactly_the_models(database_url: str) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    engine = create_engine(database_url, timeout=5)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
