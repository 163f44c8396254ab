"""Manage users: ``python -m {{ cookiecutter.package_name }}.users COMMAND``.

The commands: create, set-password, disable, enable, revoke, set-scopes and
list. Passwords are read from a prompt that does not echo, or from one line of
standard input with ``--password-stdin``; never from the command line, which
other users of the machine can see. NAME is the username (or the user's id).
The commands a password login shares with others live in ``user_admin.py``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import unicodedata
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from zxcvbn import zxcvbn

from . import user_admin
from .models import User
from .password_login import usable_username
from .password_settings import PasswordRules
from .passwords import SERVICE_NAME, hash_password, password_problem
from .sessions import end_user_sessions
from .user_admin import RefusedError

# zxcvbn's score, 0 to 4: below 3, a password falls to fewer than about 10^10 guesses.
MIN_STRENGTH = 3
# zxcvbn refuses longer input; the first 72 characters of a longer password tell enough.
STRENGTH_INPUT_LENGTH = 72


def guessability_problem(password: str, username: str) -> str | None:
    """Why zxcvbn finds ``password`` too easy to guess (names, dates, keyboard walks, l33t), or None."""
    strength = zxcvbn(password[:STRENGTH_INPUT_LENGTH], user_inputs=[username, SERVICE_NAME])
    if int(strength["score"]) >= MIN_STRENGTH:
        return None
    warning = str(strength["feedback"]["warning"]).rstrip(".") or "it would fall to a guessing attack"
    return f"the password is too easy to guess: {warning[0].lower()}{warning[1:]}"


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise RefusedError("the two passwords differ")
    return first


async def new_password_hash(settings: PasswordRules, args: argparse.Namespace, username: str) -> str:
    password = read_password(args)
    blocklist = settings.password_blocklist_file
    try:
        problem = password_problem(password, username, min_length=settings.password_min_length, blocklist=blocklist)
    except OSError as error:
        raise RefusedError(f"cannot read AUTH_PASSWORD_BLOCKLIST_FILE {blocklist}: {error.strerror}") from None
    problem = problem or guessability_problem(password, username)
    if problem:
        raise RefusedError(problem)
    return await hash_password(password)


async def check_new_username(db: AsyncSession, name: str) -> None:
    """Refuse a username that could not be typed back, or that reads as another user's."""
    if not usable_username(name):
        raise RefusedError("a username is 1 to 150 printable characters")
    if name != name.strip() or name != unicodedata.normalize("NFKC", name):
        raise RefusedError("a username has no spaces around it, and no width or accent variants (NFKC)")
    lookalike = await db.scalar(select(User.username).where(func.lower(User.username) == name.lower()))
    if lookalike is not None:
        raise RefusedError(f"a user named {lookalike!r} exists already")


async def run(args: argparse.Namespace, settings: PasswordRules) -> str:
    """Carry out one command; return what to print."""
    async with user_admin.administering(settings) as db:
        if args.command == "create":
            await check_new_username(db, args.name)
            scopes = user_admin.checked_scopes(args.scope)
            password_hash = await new_password_hash(settings, args, args.name)
            db.add(User(username=args.name, scopes=scopes, password_hash=password_hash))
            try:
                await db.commit()
            except IntegrityError:
                raise RefusedError(f"a user named {args.name!r} exists already") from None
            return f"created {args.name}"
        if args.command == "set-password":
            user = await user_admin.find(db, args.name)
            user.password_hash = await new_password_hash(settings, args, user.username or args.name)
            await end_user_sessions(db, user)
            await db.commit()
            return f"set-password: {args.name}"
        return await user_admin.run_shared(db, args)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    cli, commands = user_admin.parser()
    create = commands.add_parser("create", help="add a user; the password is asked for")
    create.add_argument("name")
    create.add_argument("--scope", action="append", default=[], help="a scope the user gets (repeat for more)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    set_password = commands.add_parser("set-password", help="change a password; ends the user's sessions")
    set_password.add_argument("name", help="username or id")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    return cli.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return user_admin.main(parse_args(argv), PasswordRules, run)


if __name__ == "__main__":
    sys.exit(main())
