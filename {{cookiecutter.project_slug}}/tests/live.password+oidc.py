"""Login bakes' test helpers: the service served over real HTTP on 127.0.0.1, and users put in its database."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from {{ cookiecutter.package_name }}.db import Database
from {{ cookiecutter.package_name }}.login_settings import LoginSettings
from {{ cookiecutter.package_name }}.models import User


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: FastAPI, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


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
