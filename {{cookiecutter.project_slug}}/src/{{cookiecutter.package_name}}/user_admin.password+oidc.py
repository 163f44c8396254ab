"""The users CLI's commands that every login has: list, disable, enable, revoke, set-scopes.

``users.py`` adds the login's own commands (a password login's create and
set-password) and runs them with ``main``. NAME is a user's id (the ``sub`` of
their tokens, as ``list`` shows it), username or email, compared exactly; a
NAME that fits two users is refused. Exit status: 0 done, 1 refused, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import DATABASE_FAILURES, Database, SchemaError, check_schema, is_unavailable
from .login_settings import DatabaseSettings
from .models import User
from .sessions import end_user_sessions

S = TypeVar("S", bound=DatabaseSettings)


class RefusedError(Exception):
    """What the command could not do, said in one line."""


# RFC 6749 §3.3: a scope is one or more of these characters; spaces separate scopes.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def checked_scopes(scopes: Sequence[str]) -> str:
    """The scopes as stored, space-separated and each once; ``RefusedError`` for one no token could carry."""
    for scope in scopes:
        if not SCOPE_TOKEN.fullmatch(scope):
            raise RefusedError(f"{scope!r} is not a scope: printable ASCII without spaces, quotes or backslashes")
    return " ".join(dict.fromkeys(scopes))


def parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """The CLI with the shared commands; the login adds its own to the second value."""
    cli = argparse.ArgumentParser(prog=f"python -m {__package__}.users", description="Manage the users who log in.")
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("disable", "refuse the user's logins and end all their sessions"),
        ("enable", "allow the user to log in again"),
        ("revoke", "end all the user's sessions: every token they hold is refused"),
    ):
        commands.add_parser(name, help=text).add_argument("name", help="id, username or email")
    set_scopes = commands.add_parser("set-scopes", help="replace the user's scopes (from their next token on)")
    set_scopes.add_argument("name", help="id, username or email")
    set_scopes.add_argument("scope", nargs="*", help="the scopes the user gets; none to take all away")
    listing = commands.add_parser("list", help="show the users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    return cli, commands


async def find(db: AsyncSession, name: str) -> User:
    """The one user whose id, username or email is ``name``."""
    named = or_(User.id == name, User.username == name, User.email == name)
    found = (await db.scalars(select(User).where(named))).all()
    if not found:
        raise RefusedError(f"no user {name!r}")
    if len(found) > 1:
        raise RefusedError(f"{name!r} names {len(found)} users; give the id")
    return found[0]


async def listing(db: AsyncSession, *, as_json: bool) -> str:
    users = (await db.scalars(select(User).order_by(User.created_at, User.id))).all()
    if as_json:
        rows = [
            {"id": u.id, "username": u.username, "email": u.email, "scopes": u.scopes.split(), "disabled": u.disabled}
            for u in users
        ]
        return json.dumps(rows, indent=2)
    return "\n".join(
        "\t".join((u.id, u.username or u.email or "-", "disabled" if u.disabled else "enabled", u.scopes))
        for u in users
    )


@asynccontextmanager
async def administering(settings: DatabaseSettings) -> AsyncIterator[AsyncSession]:
    """A database session for one command."""
    database = Database(settings)
    try:
        try:
            await check_schema(database.engine)
        except SchemaError as error:
            raise RefusedError(str(error)) from None
        async with database.sessions() as db:
            yield db
    finally:
        await database.aclose()


async def run_shared(db: AsyncSession, args: argparse.Namespace) -> str:
    """Carry out one of the shared commands; return what to print."""
    if args.command == "list":
        return await listing(db, as_json=args.json)
    user = await find(db, args.name)
    if args.command in {"disable", "enable"}:
        user.disabled = args.command == "disable"
        if user.disabled:
            await end_user_sessions(db, user)
    elif args.command == "revoke":
        await end_user_sessions(db, user)
    elif args.command == "set-scopes":
        # Refreshes narrow to the user's scopes, so a scope taken away goes with the next token.
        user.scopes = checked_scopes(args.scope)
    await db.commit()
    return f"{args.command}: {args.name}"


# A login's command runner: the parsed arguments and the settings, to what to print.
Runner = Callable[[argparse.Namespace, S], Coroutine[Any, Any, str]]


def main(args: argparse.Namespace, load: Callable[[], S], run: Runner[S]) -> int:
    """Load the settings, run the command, print its outcome; the exit status."""
    try:
        settings = load()
    except ValidationError as error:
        first = error.errors()[0]
        print(f"error: setting {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(run(args, settings)))
    except RefusedError as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except EOFError:
        print(
            "error: no password: standard input ended (type it on a terminal, or pipe it with --password-stdin)",
            file=sys.stderr,
        )
        return 1
    except UnicodeError:
        print("error: names, scopes and passwords must be UTF-8 text", file=sys.stderr)
        return 1
    except DATABASE_FAILURES as error:
        if not is_unavailable(error):
            raise
        print(f"error: cannot reach the database ({type(error).__name__})", file=sys.stderr)
        return 1
    return 0
