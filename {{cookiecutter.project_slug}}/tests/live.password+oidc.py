"""Login bakes' test helpers: the service in another process, its commands, and users put in its database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.login_settings import LoginSettings
from {{ cookiecutter.package_name }}.models import User

from .support import free_port

PACKAGE = "{{ cookiecutter.package_name }}"
# A run of the users CLI (the ``cli`` fixture): arguments and stdin, to (exit status, stdout, stderr).
Cli = Callable[..., tuple[int, str, str]]


def environment(settings: LoginSettings) -> dict[str, str]:
    """What an operator would export to run the service or its commands with ``settings``."""
    return {
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "AUTH_SECRET": settings.secret.get_secret_value(),
        "AUTH_ISSUER": settings.issuer or "",
        "AUTH_AUDIENCE": settings.audience or "",
    }


def _module_command(module: str, *args: str) -> tuple[list[str], dict[str, str]]:
    source = str(Path({{ cookiecutter.package_name }}.__file__).parent.parent)
    pythonpath = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return [sys.executable, "-m", module, *args], {**os.environ, "PYTHONPATH": pythonpath}


def run_module(module: str, *args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``python -m {{ cookiecutter.package_name }}.<module>`` as a user would, installed or not."""
    command, base = _module_command(f"{PACKAGE}.{module}", *args)
    return subprocess.run(  # noqa: S603 - our own module, our own arguments
        command, input=stdin, capture_output=True, text=True, env={**base, **env}, check=False, timeout=60
    )


@contextlib.contextmanager
def serving_process(env: dict[str, str], cwd: Path, timeout: float = 30.0) -> Iterator[str]:
    """Serve the app in another process (``uvicorn --factory``), as another worker or replica; yield its URL."""
    port = free_port()
    app = ("--factory", f"{PACKAGE}.main:create_app", "--port", str(port), "--log-level", "warning")
    command, base = _module_command("uvicorn", *app)
    log = cwd / f"uvicorn-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env={**base, **env}, stdout=output, stderr=output)  # noqa: S603
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {port}:\n{log.read_text()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout)


def add_user(settings: LoginSettings, username: str, *, password_hash: str | None = None, scopes: str = "") -> str:
    """Put a user straight into the database; return its id."""

    async def add() -> str:
        database = Database(settings)
        try:
            async with database.sessions() as db:
                user = User(username=username, password_hash=password_hash, scopes=scopes)
                db.add(user)
                await db.commit()
                return user.id
        finally:
            await database.aclose()

    return asyncio.run(add())


def stored_user(settings: LoginSettings, user_id: str) -> User:
    async def read() -> User:
        database = Database(settings)
        try:
            async with database.sessions() as db:
                user = await db.get(User, user_id)
                assert user is not None
                return user
        finally:
            await database.aclose()

    return asyncio.run(read())
