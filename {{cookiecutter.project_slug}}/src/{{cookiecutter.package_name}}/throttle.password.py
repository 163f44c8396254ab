"""Throttling of failed password logins: per username and per client address, in each worker's memory.

A username or address with too many failures inside the window gets 429 with
``Retry-After`` until its oldest failure leaves the window; a successful login
clears its username's count (never the address's). Counts are per worker, so
N workers allow up to N times the limit; they bound guessing, they are no lockout.
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


class LoginThrottle:
    """Failed logins counted per username and per client address."""

    def __init__(self, *, per_username: int, per_address: int, window: float) -> None:
        self.usernames = FailureWindow(per_username, window)
        self.addresses = FailureWindow(per_address, window)

    def retry_after(self, username: str, address: str) -> int | None:
        now = time.monotonic()
        waits = [self.usernames.retry_after(username, now), self.addresses.retry_after(address, now)]
        return max((wait for wait in waits if wait is not None), default=None)

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        self.usernames.add(username, now)
        self.addresses.add(address, now)

    def succeeded(self, username: str) -> None:
        self.usernames.clear(username)
