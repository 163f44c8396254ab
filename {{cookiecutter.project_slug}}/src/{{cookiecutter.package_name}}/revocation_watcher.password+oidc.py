"""Keep each worker's ``RevocationView`` current with the database it shares with the others.

PostgreSQL pushes: whoever revokes also sends ``NOTIFY`` in the same
transaction, and every worker ``LISTEN``s on one connection of its own, so a
logout reaches them within milliseconds of its commit. SQLite cannot push: each
worker re-reads the revocations every ``AUTH_REVOCATION_POLL_SECONDS`` (2 s).
Either way a failure is logged and retried; the view keeps what it knew.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import DATABASE_FAILURES, UNAVAILABLE, Database, is_unavailable
from .models import RevokedAccessToken, User
from .revocation import RevocationView

logger = logging.getLogger(__name__)

CHANNEL = "auth_revocations"
# A not-before older than the longest-lived token (the mint CLI's 7 days) refuses nothing unexpired.
LONGEST_TOKEN_SECONDS = 8 * 24 * 3600
# Without a notification, PostgreSQL workers still re-read this often, in case one was lost.
RESYNC_SECONDS = 60.0
RETRY_SECONDS = 1.0


async def announce(session: AsyncSession, event: dict[str, Any]) -> None:
    """Tell every worker about a revocation when ``session`` commits (PostgreSQL); a no-op on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, json.dumps(event, separators=(",", ":")))))


def apply_event(view: RevocationView, payload: str) -> None:
    """Apply one notification sent by ``announce``."""
    event = json.loads(payload)
    if "jti" in event:
        view.deny(event["jti"], int(event["exp"]))
    else:
        view.set_not_before(event["user"], int(event["not_before"]))


class RevocationWatcher:
    """Fill the view at start-up, then keep it current in a background task."""

    def __init__(self, database: Database, view: RevocationView, *, poll_seconds: float) -> None:
        self.database = database
        self.view = view
        self.poll_seconds = poll_seconds
        self.last_sync = 0.0
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        await self.sync()
        pushed = self.database.engine.dialect.name == "postgresql"
        self._task = asyncio.create_task(self._listen() if pushed else self._poll())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sync(self) -> bool:
        """Re-read every revocation that can still matter; False (and logged) if the database is away."""
        now = time.time()
        try:
            async with self.database.sessions() as session:
                rows = await session.execute(
                    select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(
                        RevokedAccessToken.expires_at > now
                    )
                )
                denied = {row.jti: row.expires_at for row in rows}
                users = await session.execute(
                    select(User.id, User.not_before).where(User.not_before > now - LONGEST_TOKEN_SECONDS)
                )
                not_before = {row.id: row.not_before for row in users}
        except DATABASE_FAILURES as error:
            if not is_unavailable(error):
                raise
            self._report(error)
            return False
        self.view.merge(denied, not_before, now=now)
        self.last_sync = now
        if self._failing:
            logger.warning("revocations: database reachable again")
            self._failing = False
        return True

    def _report(self, exc: BaseException) -> None:
        if not self._failing:
            logger.warning("revocations: cannot read the database (%s); keeping what is known", type(exc).__name__)
            self._failing = True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            await self.sync()

    async def _listen(self) -> None:
        dsn = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                await self._listen_once(dsn)
            except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
                self._report(exc)
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen_once(self, dsn: str) -> None:
        """Listen on one connection until it is lost, re-reading everything now and then."""
        closed = asyncio.Event()
        connection = await asyncpg.connect(dsn, timeout=self.poll_seconds + 5)
        try:
            connection.add_termination_listener(lambda _connection: closed.set())
            await connection.add_listener(CHANNEL, self._on_notification)
            await self.sync()  # whatever was announced while nobody listened
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), RESYNC_SECONDS)
                if not closed.is_set():
                    await self.sync()
        finally:
            if not connection.is_closed():
                connection.terminate()

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        apply_event(self.view, payload)
