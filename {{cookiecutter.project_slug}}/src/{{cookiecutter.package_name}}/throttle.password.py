"""Throttling of failed password logins: per username and per client address, in each worker's memory.

A username or address with too many failures inside the window gets 429 with
``Retry-After`` until its oldest failure leaves the window; a successful login
clears its username's count (never the address's). An attempt counts as a failure
from the moment it starts, so guesses sent all at once are held to the limit too;
one that succeeds takes its own count back. Counts are per worker, so N workers
allow up to N times the limit. A username's limit holds back its owner too, for
the rest of the window: the price of bounding guesses spread over many addresses.
"""

from __future__ import annotations

import math
import time
from collections import deque

# Distinct usernames and addresses remembered at once; the oldest are forgotten first.
MAX_KEYS = 100_000


class FailureWindow:
    """Recent failure times per key, with at most ``limit`` kept for each."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> int | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))

    def add(self, key: str, now: float) -> None:
        failures = self._failures.pop(key, None) or deque(maxlen=self.limit)
        failures.append(now)
        self._failures[key] = failures  # re-inserted: dicts keep order, so the first key is the stalest
        if len(self._failures) > MAX_KEYS:
            del self._failures[next(iter(self._failures))]

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def discard(self, key: str, at: float) -> None:
        """Take back the one failure counted for ``key`` at ``at``, if it is still counted."""
        failures = self._failures.get(key)
        if failures is not None and at in failures:
            failures.remove(at)


class LoginThrottle:
    """Failed logins counted per username and per client address."""

    def __init__(self, *, per_username: int, per_address: int, window: float) -> None:
        self.usernames = FailureWindow(per_username, window)
        self.addresses = FailureWindow(per_address, window)

    def retry_after(self, username: str, address: str) -> int | None:
        now = time.monotonic()
        waits = [self.usernames.retry_after(username, now), self.addresses.retry_after(address, now)]
        return max((wait for wait in waits if wait is not None), default=None)

    def attempt(self, username: str, address: str) -> float:
        """Count an attempt as a failure until it succeeds; returns its time, for ``succeeded``."""
        now = time.monotonic()
        self.usernames.add(username, now)
        self.addresses.add(address, now)
        return now

    def succeeded(self, username: str, address: str, attempted_at: float) -> None:
        self.usernames.clear(username)
        self.addresses.discard(address, attempted_at)

    def withdraw(self, username: str, address: str, attempted_at: float) -> None:
        """Take back an attempt that failed for another reason than a wrong guess (the database was away)."""
        self.usernames.discard(username, attempted_at)
        self.addresses.discard(address, attempted_at)
