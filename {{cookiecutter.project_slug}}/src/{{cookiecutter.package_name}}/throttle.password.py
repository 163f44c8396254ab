"""Throttling of failed password logins, per username and per client address, in the shared database.

A username or address with too many failures inside the window gets 429 with
``Retry-After`` until enough of its failures have left the window; a successful
login clears its username's count (never the address's). An attempt counts as a
failure from the moment it starts, so guesses sent all at once are held to the
limit too; one that succeeds takes its own count back. The counts live in the
``login_failures`` table, so every worker and replica on the database shares one
limit. A username's limit holds back its owner too, for the rest of the window:
the price of bounding guesses spread over many addresses.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import DATABASE_FAILURES
from .models import LoginFailure

# What a row counts against: a username as typed, or a client address.
USERNAME, ADDRESS = "user:", "addr:"


def keyed_hash(secret: str) -> hmac.HMAC:
    """The keyed hash that row keys are made with: HMAC-SHA256 under a key of its own, derived from ``secret``."""
    key = hmac.digest(secret.encode("utf-8"), b"login failures", "sha256")
    return hmac.new(key, digestmod=hashlib.sha256)


def lock_key(key: str) -> int:
    """The PostgreSQL advisory lock that attempts against ``key`` take turns on: 64 bits of its hash."""
    return int.from_bytes(bytes.fromhex(key.partition(":")[2][:16]), "big", signed=True)


@dataclass(frozen=True)
class Attempt:
    """An attempt counted against a username and an address, until it succeeds or is withdrawn."""

    username_key: str
    row_ids: tuple[int, ...]


class LoginThrottle:
    """Failed logins counted per username and per client address, in the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secret: str,
        per_username: int,
        per_address: int,
        window: float,
    ) -> None:
        self._sessions = sessions
        self._keyed_hash = keyed_hash(secret)
        self.per_username = per_username
        self.per_address = per_address
        self.window = window
        self._swept_at = -math.inf

    async def attempt(self, db: AsyncSession, username: str, address: str) -> Attempt | int:
        """Count an attempt, committed before the password is checked; or the seconds to wait, uncounted.

        Attempts against one username or address take turns (SQLite: its single writer; PostgreSQL: an
        advisory lock per key), so of a burst spread over any number of workers, exactly as many as the
        limit allows go on.
        """
        now = time.time()
        limits = {
            self.counted_key(USERNAME, username): self.per_username,
            self.counted_key(ADDRESS, address): self.per_address,
        }
        keys = tuple(limits)
        if db.get_bind().dialect.name == "postgresql":  # in this order everywhere, so no two attempts deadlock
            await db.execute(select(*(func.pg_advisory_xact_lock(lock_key(key)) for key in keys)))
        inserted = await db.execute(
            insert(LoginFailure).returning(LoginFailure.id, sort_by_parameter_order=True),
            [{"key": key, "at": now} for key in keys],
        )
        attempt = Attempt(keys[0], tuple(inserted.scalars()))
        # For each key, its limit-th newest earlier failure in the window: while there is one, the limit is full.
        earlier = (LoginFailure.at > now - self.window, LoginFailure.id.not_in(attempt.row_ids))
        counted = (
            select(LoginFailure.at)
            .where(LoginFailure.key == key, *earlier)
            .order_by(LoginFailure.at.desc())
            .offset(limit - 1)
            .limit(1)
            .scalar_subquery()
            for key, limit in limits.items()
        )
        oldest: list[float] = [at for at in (await db.execute(select(*counted))).one() if at is not None]
        if oldest:
            await db.rollback()  # a refused attempt extends no window
            return max(1, math.ceil(max(oldest) + self.window - now))
        await db.commit()
        if now - self._swept_at >= self.window:  # each worker deletes what has aged out, once per window
            self._swept_at = now
            await db.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
            await db.commit()
        return attempt

    def counted_key(self, kind: str, value: str) -> str:
        """The key a username or an address is counted under: a keyed hash, so any text fits and none is stored.

        Not even a password typed into the username field, as people do; nor one that a dump of the
        database alone could find by hashing guesses.
        """
        mac = self._keyed_hash.copy()
        mac.update(value.encode("utf-8", "surrogatepass"))
        return kind + mac.hexdigest()

    async def succeeded(self, db: AsyncSession, attempt: Attempt) -> None:
        """Clear the username's failures and take back this attempt's count of the address.

        In ``db``'s transaction: committed with the tokens the login issues, or not at all.
        """
        await db.execute(
            delete(LoginFailure).where(
                (LoginFailure.key == attempt.username_key) | (LoginFailure.id == attempt.row_ids[1])
            )
        )

    async def withdraw(self, attempt: Attempt) -> None:
        """Take back an attempt that failed for another reason than a wrong guess (the database was away).

        In a session of its own, as the request's may be broken. If the database is still away, the
        attempt counts until it leaves the window.
        """
        with contextlib.suppress(*DATABASE_FAILURES):
            async with self._sessions() as db:
                await db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.row_ids)))
                await db.commit()
