"""Throttling of failed password logins, per username and per client address, in the shared database.

A username or address with too many failures inside the window gets 429 with
``Retry-After`` until enough of its failures have left the window; a successful
login clears its username's count (never the address's). An attempt counts as a
failure from the moment it starts, so guesses sent all at once are held to the
limit too; one that turns out not to be a wrong guess (the right password, or a
database that failed) takes its own count back. The counts live in the
``login_failures`` table, so every worker and replica on the database shares one
limit. A username's limit holds back its owner too, for the rest of the window:
the price of bounding guesses spread over many addresses.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Executable, ScalarSelect, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import DATABASE_FAILURES, first_line, is_unavailable
from .log_throttle import LogThrottle
from .models import LoginFailure
from .password_settings import Settings

logger = logging.getLogger(__name__)

# What a row counts against: a username as typed, or a client address (an IPv6 one by its /64).
USERNAME, ADDRESS = "user:", "addr:"
IPV6_CLIENT_PREFIX = 64
# Keys refused lately, remembered by each worker for a second: a flood of attempts against a full limit
# costs the database one query a second, not one per attempt. Only a second, as a login that succeeds
# elsewhere may free its username's limit early. Bounded; the oldest are forgotten first.
REFUSAL_MEMORY_SECONDS = 1.0
MAX_REFUSED_KEYS = 10_000


def client_network(address: str) -> str:
    """What one client's attempts are counted under: its IPv4 address, or its IPv6 /64.

    A host holds a whole /64 of IPv6 addresses, and ``::ffff:192.0.2.1`` is ``192.0.2.1``. Anything
    that is no IP address (a Unix socket's peer, say) is counted as it is.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Attempt:
    """An attempt counted against a username and an address: its two rows, until it ends."""

    username_key: str
    username_row: int
    address_row: int


@dataclass(frozen=True)
class Refused:
    """An attempt refused because a limit is full, and not counted; the client may retry after this long."""

    retry_after: int


class LoginThrottle:
    """Failed logins counted per username and per client address, in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        # Keyed: a row's key tells nothing, even to whoever holds a dump of the database and a list of guesses.
        secret = settings.secret.get_secret_value().encode("utf-8")
        self._keyed_hash = hmac.new(hmac.digest(secret, b"login failures", "sha256"), None, "sha256")
        self.per_username = settings.login_failures_per_username
        self.per_address = settings.login_failures_per_address
        self.window = settings.login_failure_window_seconds
        # key -> (until when this worker refuses it without asking, the Retry-After's end)
        self._refused: dict[str, tuple[float, float]] = {}
        self._swept_at = -math.inf
        self._log_throttle = LogThrottle(settings.log_repeat_seconds)

    def counted_key(self, kind: str, value: str) -> str:
        """The key a username or an address is counted under: a keyed hash, so any text fits and none is kept.

        Not even a password typed into the username field, as people do.
        """
        mac = self._keyed_hash.copy()
        mac.update(f"{kind}{value}".encode("utf-8", "surrogatepass"))
        return kind + mac.hexdigest()

    async def attempt(self, username: str, address: str) -> Attempt | Refused:
        """Count an attempt, committed before the password is checked; or refuse it, uncounted.

        Attempts against one username or address take turns (SQLite: its single writer; PostgreSQL: an
        advisory lock per key, each statement seeing what the lock's last holder committed), so of a burst
        spread over any number of workers, exactly as many as the limit allows go on. An attempt counts as
        in flight until ``failed``, ``succeeded`` or ``withdraw``.
        """
        limits = {
            self.counted_key(USERNAME, username): self.per_username,
            self.counted_key(ADDRESS, client_network(address)): self.per_address,
        }
        refused = self._remembered_refusal(limits)
        if refused is not None:
            return refused
        async with self._sessions() as db:
            if db.get_bind().dialect.name == "postgresql":
                # One lock at a time, in one order everywhere, so no two attempts can deadlock.
                for lock in sorted(int.from_bytes(bytes.fromhex(key[-16:]), "big", signed=True) for key in limits):
                    await db.execute(select(func.pg_advisory_xact_lock(lock)))
            now = time.time()  # after the wait for the lock, so that no Retry-After exceeds the window
            inserted = await db.execute(
                insert(LoginFailure).returning(LoginFailure.id, sort_by_parameter_order=True),
                [{"key": key, "at": now, "in_flight": True} for key in limits],
            )
            username_row, address_row = inserted.scalars()
            full_until = await self._full_until(db, limits, now, (username_row, address_row))
            if full_until:
                await db.rollback()  # a refused attempt extends no window
                for key, until in full_until.items():
                    self._refused[key] = (now + REFUSAL_MEMORY_SECONDS, until)
                return Refused(max(1, math.ceil(max(full_until.values()) - now)))
            await db.commit()
        await self._sweep(now)
        return Attempt(next(iter(limits)), username_row, address_row)

    async def _full_until(
        self, db: AsyncSession, limits: dict[str, int], now: float, own: tuple[int, int]
    ) -> dict[str, float]:
        """The keys whose limit earlier attempts fill, each with when a retry may find room.

        Full while a key has ``limit`` earlier attempts in the window, failed or in flight. A retry may find
        room once enough failures leave the window; if attempts in flight fill the limit, in a second, as
        each of them either fails (and the limit stays full) or is taken back.
        """
        earlier = (LoginFailure.at > now - self.window, LoginFailure.id.not_in(own))

        def limit_th_newest(key: str, limit: int, *only: ColumnElement[bool]) -> ScalarSelect[float]:
            return (
                select(LoginFailure.at)
                .where(LoginFailure.key == key, *earlier, *only)
                .order_by(LoginFailure.at.desc())
                .offset(limit - 1)
                .limit(1)
                .scalar_subquery()
            )

        checks = [
            check
            for key, limit in limits.items()
            for check in (limit_th_newest(key, limit), limit_th_newest(key, limit, LoginFailure.in_flight.is_(False)))
        ]
        found = (await db.execute(select(*checks))).one()
        return {
            key: now + 1 if failed is None else failed + self.window
            for key, counted, failed in zip(limits, found[::2], found[1::2], strict=True)
            if counted is not None
        }

    def _remembered_refusal(self, limits: dict[str, int]) -> Refused | None:
        """A refusal this worker saw lately for one of the keys, still in force; else None.

        Once a second, one attempt per key asks the database again, the others still refused meanwhile.
        """
        now = time.time()
        ends = []
        for key in limits:
            forget_at, until = self._refused.get(key, (-math.inf, -math.inf))
            if until <= now:
                self._refused.pop(key, None)
            elif forget_at > now:
                ends.append(until)
            else:  # this attempt asks the database; the next ones are refused for another second meanwhile
                self._refused[key] = (now + REFUSAL_MEMORY_SECONDS, until)
        if ends:
            return Refused(max(1, math.ceil(max(ends) - now)))
        if len(self._refused) > MAX_REFUSED_KEYS:
            self._refused = {key: seen for key, seen in self._refused.items() if seen[1] > now}
            while len(self._refused) > MAX_REFUSED_KEYS:
                del self._refused[next(iter(self._refused))]
        return None

    async def _sweep(self, now: float) -> None:
        """Delete what has left the window, once per window in each worker.

        Never fails a login: if the database cannot do it now, the next sweep will.
        """
        if now - self._swept_at < self.window:
            return
        self._swept_at = now
        await self._write("sweep", delete(LoginFailure).where(LoginFailure.at <= now - self.window))

    async def failed(self, attempt: Attempt) -> None:
        """The attempt was a wrong guess: it counts as a failure until it leaves the window."""
        rows = (attempt.username_row, attempt.address_row)
        await self._write("failure", update(LoginFailure).where(LoginFailure.id.in_(rows)).values(in_flight=False))

    async def succeeded(self, attempt: Attempt) -> None:
        """Clear the username's failures and take back this attempt's count of the address (tokens issued)."""
        mine = (LoginFailure.key == attempt.username_key) | (LoginFailure.id == attempt.address_row)
        await self._write("success", delete(LoginFailure).where(mine))

    async def withdraw(self, db: AsyncSession, attempt: Attempt) -> None:
        """Take back an attempt that was no wrong guess: the right password, or a database that failed.

        ``db``, the login's session, is rolled back first: its transaction may hold locks the deletion
        needs (SQLite's writer), or be broken.
        """
        with contextlib.suppress(*DATABASE_FAILURES):
            await db.rollback()
        rows = (attempt.username_row, attempt.address_row)
        await self._write("withdrawal", delete(LoginFailure).where(LoginFailure.id.in_(rows)))

    async def _write(self, what: str, statement: Executable) -> None:
        """Run and commit one statement; a database that cannot now is logged, and fails no login.

        An attempt left in flight so counts as a failure until it leaves the window. A wrong query is no
        outage: it raises, as everywhere else.
        """
        try:
            async with self._sessions() as db:
                await db.execute(statement)
                await db.commit()
        except DATABASE_FAILURES as error:
            if not is_unavailable(error):
                raise
            repeated = self._log_throttle.admit(what)  # an outage fails every login: one line per interval
            if repeated is not None:
                message = "login_failures %s not written: %s (repeated=%d)"
                logger.warning(message, what, first_line(error), repeated)
