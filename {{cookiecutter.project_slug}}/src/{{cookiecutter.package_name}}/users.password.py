"""Manage users: ``python -m {{ cookiecutter.package_name }}.users create|set-password|disable|enable|list|revoke``.

Passwords are read from a prompt that does not echo, or from one line of
standard input with ``--password-stdin``; never from the command line, which
other users of the machine can see. Exit status: 0 done, 1 refused, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .db import UNAVAILABLE, Database
from .models import User
from .password_login import usable_username
from .password_settings import Settings
from .passwords import hash_password, password_problem
from .revocation import RevocationView
from .sessions import Sessions


class RefusedError(Exception):
    """What the command could not do, said in one line."""


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise RefusedError("the two passwords differ")
    return first


async def find(db: AsyncSession, username: str) -> User:
    user = await db.scalar(select(User).where(User.username == username))
    if user is None:
        raise RefusedError(f"no user named {username!r}")
    return user


async def new_password_hash(settings: Settings, args: argparse.Namespace) -> str:
    password = read_password(args)
    problem = password_problem(password, args.name, min_length=settings.password_min_length)
    if problem:
        raise RefusedError(problem)
    return await hash_password(password)


async def listing(db: AsyncSession, *, as_json: bool) -> str:
    users = (await db.scalars(select(User).order_by(User.username))).all()
    if as_json:
        rows = [{"id": u.id, "username": u.username, "scopes": u.scopes.split(), "disabled": u.disabled} for u in users]
        return json.dumps(rows, indent=2)
    return "\n".join(f"{u.username}\t{'disabled' if u.disabled else 'enabled'}\t{u.scopes}" for u in users)


async def run(args: argparse.Namespace, settings: Settings) -> str:
    """Carry out one command; return what to print."""
    database = Database(settings)
    sessions = Sessions(settings, RevocationView())
    try:
        async with database.sessions() as db:
            if args.command == "list":
                return await listing(db, as_json=args.json)
            if args.command == "create":
                if not usable_username(args.name):
                    raise RefusedError("a username is 1 to 150 printable characters")
                db.add(
                    User(
                        username=args.name,
                        scopes=" ".join(args.scope),
                        password_hash=await new_password_hash(settings, args),
                    )
                )
                try:
                    await db.commit()
                except IntegrityError:
                    raise RefusedError(f"a user named {args.name!r} exists already") from None
                return f"created {args.name}"
            user = await find(db, args.name)
            if args.command == "set-password":
                user.password_hash = await new_password_hash(settings, args)
                await sessions.end_user_sessions(db, user)
            elif args.command in {"disable", "enable"}:
                user.disabled = args.command == "disable"
                if user.disabled:
                    await sessions.end_user_sessions(db, user)
            elif args.command == "revoke":
                await sessions.end_user_sessions(db, user)
            await db.commit()
            return f"{args.command}: {args.name}"
    finally:
        await database.aclose()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}.users", description="Manage the users who log in.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = commands.add_parser("create", help="add a user; the password is asked for")
    create.add_argument("name")
    create.add_argument("--scope", action="append", default=[], help="a scope the user gets (repeat for more)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    set_password = commands.add_parser("set-password", help="change a password; ends the user's sessions")
    set_password.add_argument("name")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for name, text in (
        ("disable", "refuse the user's logins and end all their sessions"),
        ("enable", "allow the user to log in again"),
        ("revoke", "end all the user's sessions: every token they hold is refused"),
    ):
        commands.add_parser(name, help=text).add_argument("name")
    listing = commands.add_parser("list", help="show the users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"error: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(run(args, settings)))
    except RefusedError as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except UNAVAILABLE as error:
        print(f"error: cannot reach the database ({type(error).__name__})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
