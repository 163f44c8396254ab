"""Where a protected request's time goes: each step of the auth path, timed inside the running app.

The steps are wrapped in place (the module functions and methods the auth path
looks up at call time), so they are timed where they run: between FastAPI's
own work, with the caches as warm or as cold as a real request finds them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HAS_ACCESS = "has_access, in all"
HEADER = "… Authorization header read"
AUTHENTICATE = "… authenticate, in all"
PRESENTATION = "… presentation check: bound tokens, DPoP proofs"
REST = "… the rest of has_access: the app's authenticator, the per-request stash, scope check, log call"
FASTAPI = "FastAPI: routing, the dependency step, the endpoint"
WHOLE = "whole request"
# (module, owner in it or "" for the module itself, attribute, label), in the order they run.
STEPS = (
    ("dependency", "BearerAccess", "__call__", HAS_ACCESS),
    # dependency.py imports credentials (presentation.py) by name, so that is the name to wrap.
    ("dependency", "", "credentials", HEADER),
    # A cache hit takes Authenticator.cached alone; a new token then Authenticator.verify.
    ("authenticator", "Authenticator", "cached", AUTHENTICATE),
    ("authenticator", "VerifiedTokenCache", "checked", "… … verified-token cache lookup"),
    ("authenticator", "Authenticator", "verify", AUTHENTICATE),
    ("tokens", "", "parse", "… … parse: shape, base64url, strict JSON, header"),
    ("jwks_cache", "JwksCache", "held_key", "… … key lookup by kid"),
    ("tokens", "", "verify_signature", "… … signature check"),
    # authenticator.py imports validate_claims by name, so that is the name to wrap.
    ("authenticator", "", "validate_claims", "… … claims check, TokenClaims"),
    ("authenticator", "VerifiedTokenCache", "put", "… … verified-token cache insert"),
    ("presentation", "BearerOnly", "check", PRESENTATION),
    ("dpop", "DpopPresentation", "check", PRESENTATION),
)


class Timings:
    """Nanoseconds spent per step in the current round, and the finished rounds in µs per request."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.rounds: list[dict[str, float]] = []

    def end_round(self, requests: int, total_ns: int) -> None:
        """Keep this round's µs per request for each step, and start the next round."""
        steps = {label: self.spent[label] for _, _, _, label in STEPS if self.calls[label]}
        steps[REST] = self.spent[HAS_ACCESS] - sum(self.spent[label] for label in (HEADER, AUTHENTICATE, PRESENTATION))
        steps[FASTAPI] = total_ns - self.spent[HAS_ACCESS]
        steps[WHOLE] = total_ns
        self.rounds.append({label: spent / requests / 1e3 for label, spent in steps.items()})
        self.spent.clear()
        self.calls.clear()

    def wrap(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter_ns()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.spent[label] += time.perf_counter_ns() - started
                    self.calls[label] += 1

            return timed_async

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter_ns() - started
                self.calls[label] += 1

        return timed

    def table(self) -> str:
        """A Markdown table of the median µs per request of each step, and its share of the request."""
        called = list(dict.fromkeys(label for _, _, _, label in STEPS if any(label in r for r in self.rounds)))
        labels = [FASTAPI, *called, REST, WHOLE]
        median = {label: statistics.median(r.get(label, 0.0) for r in self.rounds) for label in labels}
        lines = ["| step | µs / request | share |", "|---|---:|---:|"]
        lines += [f"| {label} | {median[label]:.1f} | {median[label] / median[WHOLE]:.0%} |" for label in labels]
        return "\n".join(lines)


@contextmanager
def timed_steps(package: str, steps: tuple[tuple[str, str, str, str], ...] = STEPS) -> Iterator[Timings]:
    """Wrap the steps (the auth path's, unless given) of a baked package for as long as the block runs."""
    timings = Timings()
    undo: list[tuple[Any, str, Any]] = []
    try:
        for module_name, owner_name, attribute, label in steps:
            if importlib.util.find_spec(f"{package}.{module_name}") is None:
                continue  # jwks_cache.py and dpop.py exist in jwks mode only
            module = importlib.import_module(f"{package}.{module_name}")
            owner = getattr(module, owner_name) if owner_name else module
            original = getattr(owner, attribute)
            undo.append((owner, attribute, original))
            setattr(owner, attribute, timings.wrap(label, original))
        yield timings
    finally:
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)
