"""What an operator does to a login bake's users: ``python login_operator.py PACKAGE``, then
``COMMAND USERNAME`` lines on its standard input, each answered by one line on its standard output.

It runs in the bake's environment (``DATABASE_URL``, ``AUTH_*``, the package on ``PYTHONPATH``), and
stays up, so that the package is imported once rather than for every command.

``add`` puts a user in the database and prints its id; ``issue`` gives the user a new session as a
successful login does once it knows who logged in (``Sessions.issue_tokens``) and prints the token
response; ``revoke`` and ``disable`` do what ``users revoke`` and ``users disable`` do
(``Sessions.end_user_sessions``); ``delete`` removes the user's row. The baked package's own code does
each, so the attack battery gets real sessions of both login kinds without a password or a provider.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

from sqlalchemy import select

COMMANDS = ("add", "issue", "revoke", "disable", "delete")


async def operate(package: str, command: str, username: str) -> str:
    """Carry out one command; return what to print."""

    def module(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}")

    settings = module("login_settings").LoginSettings()
    database = module("db").Database(settings)
    user_model = module("models").User
    sessions = module("sessions").Sessions(settings, module("revocation").RevocationView())
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
            if command == "delete":
                await db.delete(user)
            else:
                user.disabled = user.disabled or command == "disable"
                await sessions.end_user_sessions(db, user)
            await db.commit()
            return f"{command}: {username}"
    finally:
        await database.aclose()


def main(argv: list[str]) -> int:
    (package,) = argv
    for line in sys.stdin:
        command, username = line.split()
        if command not in COMMANDS:
            print(f"error: {command!r} is none of {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        print(asyncio.run(operate(package, command, username)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
