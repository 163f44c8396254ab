"""What an operator does to a login bake's users: ``python login_operator.py PACKAGE``, then
``COMMAND USERNAME`` lines on its standard input, each answered by one line on its standard output.

``add`` puts a user in the database and prints its id; ``issue`` gives the user a new session as a
successful login does once it knows who logged in (``Sessions.issue_tokens``) and prints the token
response; ``revoke`` and ``disable`` are the bake's users CLI (``users revoke NAME``); ``delete``
removes the user's row. The bake's own code does each, so the attack battery gets real sessions of
both login kinds without a password or a provider. It runs in the bake's environment
(``DATABASE_URL``, ``AUTH_*``, the package on ``PYTHONPATH``), and stays up, so that the package is
imported once rather than for every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import sys
from typing import Any

from sqlalchemy import select

DATABASE_COMMANDS = ("add", "issue", "delete")
CLI_COMMANDS = ("revoke", "disable")


def module(package: str, name: str) -> Any:
    return importlib.import_module(f"{package}.{name}")


async def operate(package: str, command: str, username: str) -> str:
    """Carry out one of the database commands; return what to print."""
    settings = module(package, "login_settings").LoginSettings()
    database = module(package, "db").Database(settings)
    user_model = module(package, "models").User
    sessions = module(package, "sessions").Sessions(settings, module(package, "revocation").RevocationView())
    try:
        async with database.sessions() as db:
            if command == "add":
                added = user_model(username=username, scopes="items:read")
                db.add(added)
                await db.commit()
                return str(added.id)
            user = await db.scalar(select(user_model).where(user_model.username == username))
            if command == "issue":
                issued = await sessions.issue_tokens(db, user, user.scopes)
                return str(issued.model_dump_json())
            await db.delete(user)
            await db.commit()
            return f"{command}: {username}"
    finally:
        await database.aclose()


def users_cli(package: str, *args: str) -> str:
    """Run ``python -m PACKAGE.users ARGS`` in this process; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = module(package, "users").main(list(args))
    if status != 0:
        raise SystemExit(f"users {' '.join(args)} failed with exit status {status}")
    return printed.getvalue().strip()


def main(argv: list[str]) -> int:
    (package,) = argv
    for line in sys.stdin:
        command, username = line.split()
        if command in CLI_COMMANDS:
            print(users_cli(package, command, username), flush=True)
        elif command in DATABASE_COMMANDS:
            print(asyncio.run(operate(package, command, username)), flush=True)
        else:
            print(f"error: {command!r} is none of {', '.join(DATABASE_COMMANDS + CLI_COMMANDS)}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
