"""Repeated identical failures, logged once per interval with a count, so an outage cannot flood the logs.

The first of a run is always logged. Identical ones within the interval are
only counted, and the next one logged after it says how many were held back.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

# Distinct kinds of line remembered at once; beyond that, finished intervals are forgotten first.
MAX_KINDS = 1024


class LogThrottle:
    """Decide, per kind of line, whether to log it now and how many like it were held back."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._clock = time.monotonic
        # kind -> (when one was last logged, how many were held back since)
        self._runs: dict[Hashable, tuple[float, int]] = {}

    def admit(self, kind: Hashable) -> int | None:
        """None to hold this line back; else the number held back since the last one logged."""
        now = self._clock()
        run = self._runs.get(kind)
        if run is not None and now - run[0] < self._interval:
            self._runs[kind] = (run[0], run[1] + 1)
            return None
        if run is None and len(self._runs) >= MAX_KINDS:
            self._forget_finished(now)
        self._runs[kind] = (now, 0)
        return run[1] if run is not None else 0

    def _forget_finished(self, now: float) -> None:
        self._runs = {kind: run for kind, run in self._runs.items() if now - run[0] < self._interval}
        if len(self._runs) >= MAX_KINDS:
            self._runs.clear()  # every kind is mid-run: losing counts beats growing without bound
