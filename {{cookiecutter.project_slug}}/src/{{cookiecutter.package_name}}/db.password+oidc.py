"""The database: the async engine and sessions, ``SessionDep``, the schema check, and the migrations command.

``python -m {{ cookiecutter.package_name }}.db upgrade`` creates the tables or brings them up to date
(Alembic ``upgrade head``, with the migrations shipped inside the package); the
service refuses to start on a schema that is behind, and says to run it.
``db revision MESSAGE`` writes the next migration for a change to ``models.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError
from fastapi import Depends
from pydantic import ValidationError
from sqlalchemy import Connection, event, exc, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from starlette.requests import HTTPConnection

from .login_settings import DatabaseSettings
from .models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = f"python -m {__package__}.db upgrade"
# PostgreSQL's advisory lock for migrations: any 64-bit number, the same in every process of this service.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(f"{__package__}.migrations".encode()).digest()[:8], "big", signed=True
)
# What a database that is down, unreachable or too slow raises: such requests get 503, never 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
)
# PostgreSQL's SQLSTATE classes for a server that cannot serve now, which asyncpg's driver raises as plain
# DBAPIErrors: connection exceptions, insufficient resources (too many connections), operator intervention
# (shutting down, starting up), system errors, and a role or database it does not know (a misconfiguration).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58", "28", "3D"})
# A transaction PostgreSQL rolled back for its own reasons (serialization failure, deadlock): try again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
# SQLite's result codes for a database that cannot serve now (busy, locked, cannot open, I/O, full). It
# raises "no such table" and syntax errors as OperationalErrors too (SQLITE_ERROR): those are wrong queries.
SQLITE_UNAVAILABLE_CODES = frozenset(
    f"SQLITE_{code}" for code in ("BUSY", "LOCKED", "CANTOPEN", "IOERR", "FULL", "NOMEM", "PROTOCOL")
)
# Every error a database call may end in; ``is_unavailable`` tells an outage from a wrong query.
DATABASE_FAILURES: tuple[type[Exception], ...] = (*UNAVAILABLE, exc.DBAPIError)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve right now (503), not that a query is wrong (500)."""
    sqlite_code = getattr(error.orig, "sqlite_errorname", None) if isinstance(error, exc.DBAPIError) else None
    if isinstance(sqlite_code, str):  # such as SQLITE_BUSY_SNAPSHOT: the primary code is its first two words
        return "_".join(sqlite_code.split("_")[:2]) in SQLITE_UNAVAILABLE_CODES
    if isinstance(error, UNAVAILABLE):
        return True
    if isinstance(error, exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        return error.connection_invalidated or (
            isinstance(sqlstate, str)
            and (sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES)
        )
    return False


def first_line(error: BaseException) -> str:
    """What the driver said, on one line: a DBAPIError's own text adds the statement and a link."""
    said = str(error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error)
    return said.splitlines()[0] if said.strip() else type(error).__name__


class SchemaError(RuntimeError):
    """The database's schema is not the one this code was written for."""


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers go on while a login writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, timeout: float) -> AsyncEngine:
    """An engine that gives up after ``timeout`` seconds instead of hanging on a database that is away.

    On PostgreSQL its transactions are READ COMMITTED, whatever the database's default.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # sqlite3's timeout is its busy timeout: a writer waits this long for another one.
        engine = create_async_engine(parsed, connect_args={"timeout": timeout})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"timeout": timeout, "command_timeout": timeout} if parsed.get_driver_name() == "asyncpg" else {}
    # The isolation every transaction here is written for, whatever the database's default: under REPEATABLE
    # READ or SERIALIZABLE, logins that change one row at once would fail each other.
    return create_async_engine(
        parsed, pool_pre_ping=True, pool_timeout=timeout, connect_args=connect_args, isolation_level="READ COMMITTED"
    )


class Database:
    """One engine and its session factory; nothing connects until first used."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.url = settings.database_url.get_secret_value()
        self.engine = create_engine(self.url, timeout=settings.database_timeout_seconds)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def aclose(self) -> None:
        await self.engine.dispose()


async def get_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One session per request (or WebSocket), closed after the response."""
    database: Database = conn.app.state.accounts.database
    async with database.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointed at the migrations inside the package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = Base.metadata
    return config


def _current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def check_schema(engine: AsyncEngine) -> None:
    """Raise ``SchemaError``, saying what to run, unless the schema is the one the code expects."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    scripts = ScriptDirectory.from_config(alembic_config())
    expected = set(scripts.get_heads())
    if current == expected:
        return
    unknown = current - {script.revision for script in scripts.walk_revisions()}
    if unknown:
        raise SchemaError(
            f"the database is at revision {' '.join(sorted(unknown))}, which this code does not know "
            "(newer code migrated it?): run the code that did, or restore a database this code knows"
        )
    state = f"is at revision {' '.join(sorted(current))}" if current else "has no tables yet"
    needed = " ".join(sorted(expected))
    raise SchemaError(f"the database {state}, but this code needs {needed}; run: {UPGRADE_COMMAND}")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` in one transaction.

    On PostgreSQL, under a lock held until the commit: replicas that all migrate as they start take
    turns, and each after the first finds the schema current.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.run_sync(_upgrade, revision)


def _revision(connection: Connection, message: str) -> Path:
    """Write the next migration: what the models have that the database (at the newest revision) lacks."""
    numbers = [int(script.revision) for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    config = alembic_config(connection)
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")  # as the shipped ones: v0001_users_and_tokens
    written = command.revision(config, message=message, autogenerate=True, rev_id=f"{max(numbers) + 1:04d}")
    if not isinstance(written, Script):
        raise CommandError("alembic wrote no single migration")
    return Path(written.path)


async def revision(engine: AsyncEngine, message: str) -> Path:
    """Autogenerate the next migration into ``migrations/versions``, formatted like the rest of the code."""
    await check_schema(engine)  # compared with a database that is behind, it would repeat older migrations
    async with engine.connect() as connection:
        path = await connection.run_sync(_revision, message)
    if importlib.util.find_spec("ruff") is not None:  # a dev tool: absent where the service is deployed
        formatting = await asyncio.create_subprocess_exec(sys.executable, "-m", "ruff", "format", "--quiet", str(path))
        await formatting.wait()
    return path


async def _run(args: argparse.Namespace, settings: DatabaseSettings) -> int:
    command_name = args.command
    database = Database(settings)
    try:
        if command_name == "revision":
            try:
                path = await revision(database.engine, args.message)
            except (SchemaError, CommandError) as error:
                print(f"error: {first_line(error)}", file=sys.stderr)
                return 1
            print(f"wrote {path}: read it, then run: {UPGRADE_COMMAND}")
            return 0
        if command_name == "upgrade":
            async with database.engine.connect() as connection:
                before = await connection.run_sync(_current_revisions)
            try:
                await upgrade(database.engine)
            except CommandError as error:  # such as a revision only newer code knows
                print(f"error: {first_line(error)}", file=sys.stderr)
                return 1
            async with database.engine.connect() as connection:
                after = await connection.run_sync(_current_revisions)
            was, now = (" ".join(sorted(revisions)) or "nothing" for revisions in (before, after))
            done = f"upgraded from {was} to {now}" if now != was else "is up to date: nothing to do"
            print(f"database schema {done}")
            return 0
        try:
            await check_schema(database.engine)
        except SchemaError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print("database schema is up to date")
        return 0
    finally:
        await database.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.db", description="Manage the database schema (DATABASE_URL)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="create the tables, or bring them up to date")
    commands.add_parser("check", help="exit 1 unless the schema is up to date")
    revising = commands.add_parser(
        "revision", help="write the next migration, from what the models have and the database lacks"
    )
    revising.add_argument("message", help='what it changes, such as "notes table": its docstring and file name')
    args = parser.parse_args(argv)
    try:
        settings = DatabaseSettings()
    except ValidationError as error:
        print(f"error: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings))
    except DATABASE_FAILURES as error:
        if not is_unavailable(error):
            raise
        print(f"error: cannot reach the database: {first_line(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
