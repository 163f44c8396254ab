"""Turn the workers' samples into ratios, a Markdown table and the issue's targets."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LABELS = {
    "open": "same app, unprotected",
    "noop": "same app, one no-op Depends",
    "hello": "protected /hello",
    "recipe": "common recipe",
    "verify": "bare RS256 verify (cryptography)",
    "verify-between": "bare RS256 verify, each right after a request",
    "proof": "bare ES256 proof verify (cryptography)",
    "none": "new token, no step: the cache miss alone",
    "parse": "… + parse",
    "signature": "… + signature check",
    "claims": "… + claim rules, TokenClaims",
    "verify-bare": "Authenticator.verify alone, in a tight loop",
    "verify-bare-between": "Authenticator.verify alone, each right after a request",
}
# Routes timed outside any app: their own cost is what they add.
BARE = frozenset({"verify", "verify-between", "proof", "verify-bare", "verify-bare-between"})
# A new token step by step, each cut against the one before it; the last step is the cache insert.
STEPS = ("none", "parse", "signature", "claims", "hello")
RECIPES = {"hs256": "HTTPBearer + jwt.decode (HS256)", "jwks": "whole JWKS dict to jwt.decode (4 RSA keys)"}
ORDER = {name: n for n, name in enumerate(LABELS)}
TOKEN_ORDER = {"repeated": 0, "unique": 1, "dpop": 2, "steps": 3}
# Issue 11 §7, in process, in units of the unprotected app's cost:
REPEATED_OVER_FLOOR = 0.06  # repeated token: at most the no-op floor plus this, in every mode
HS256_UNIQUE_RATIO = 1.40  # new hs256 token: at most this ratio
RS256_OVER_FLOOR_AND_VERIFY = 0.10  # new RS256 token: at most the floor plus a bare RS256 verify plus this
JWKS_FACTOR_TARGET = 5.0

# (way, mode, tokens, route) -> the route's µs per request, one sample per round.
Samples = dict[tuple[str, str, str, str], list[float]]


def samples_from(mode: str, results: list[dict[str, Any]]) -> Samples:
    """One mode's worker results, keyed by (way, mode, tokens, route)."""
    return {(r["way"], mode, r["tokens"], r["route"]): r["samples_us"] for r in results}


def paired(samples: Samples, key: tuple[str, str, str], route: str, minus: Iterable[str] = ()) -> float:
    """Median over the rounds of (the route's cost, less the ``minus`` routes' costs) / the open app's cost.

    ``key`` is (way, mode, tokens). Each round is divided by its own baseline, which cancels
    the drift of a busy machine.
    """
    rounds = zip(*(samples[(*key, name)] for name in [route, *minus, "open"]), strict=True)
    shares: list[float] = [(cost - sum(others)) / base for cost, *others, base in rounds]
    return statistics.median(shares)


def measured(samples: Samples, key: tuple[str, str, str], *routes: str) -> bool:
    """Whether every route was measured for ``key``, (way, mode, tokens)."""
    return all((*key, route) in samples for route in routes)


@dataclass(frozen=True)
class Row:
    """One route measured one way, against the same app unprotected in the same rounds.

    ``ratio`` is the median over the rounds of the route's cost divided by the open
    app's cost in that same round; ``over_floor`` is the same less the no-op floor;
    ``added_us`` is the median of the route's cost minus the open app's (for the bare
    verify, which runs outside any app, its own cost).
    """

    way: str
    mode: str
    tokens: str
    route: str
    median_us: float
    open_us: float
    ratio: float
    over_floor: float | None
    added_us: float

    @property
    def label(self) -> str:
        return RECIPES[self.mode] if self.route == "recipe" else LABELS[self.route]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def rows_from(samples: Samples) -> list[Row]:
    """A row for every route measured, in table order."""
    rows = []
    for (way, mode, tokens, route), values in samples.items():
        key = (way, mode, tokens)
        base = samples[(*key, "open")]
        added = [cost if route in BARE else cost - open_ for cost, open_ in zip(values, base, strict=True)]
        floor = paired(samples, key, route, ["noop"]) if route in {"hello", "recipe"} else None
        rows.append(
            Row(
                way,
                mode,
                tokens,
                route,
                median_us=statistics.median(values),
                open_us=statistics.median(base),
                ratio=paired(samples, key, route),
                over_floor=floor,
                added_us=statistics.median(added),
            )
        )
    return sorted(rows, key=lambda r: (r.way != "in-process", r.mode, TOKEN_ORDER[r.tokens], ORDER[r.route]))


def machine() -> str:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def table(rows: list[Row], notes: list[str]) -> str:
    """A Markdown table of every row, medians in microseconds, then the notes."""
    lines = [
        "| way | mode | tokens | route | µs / request | ratio | over floor | added µs |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        floor = "" if row.over_floor is None else f"{row.over_floor:+.2f}"
        lines.append(
            f"| {row.way} | {row.mode} | {row.tokens} | {row.label} | {row.median_us:.1f} | "
            f"{row.ratio:.2f} | {floor} | {row.added_us:+.1f} |"
        )
    return "\n".join([*lines, "", *(f"- {note}" for note in notes)])


def _find(rows: list[Row], mode: str, tokens: str, route: str) -> Row | None:
    return next(
        (r for r in rows if (r.way, r.mode, r.tokens, r.route) == ("in-process", mode, tokens, route)),
        None,
    )


def _met(value: float, limit: float) -> str:
    return "met" if value <= limit else "NOT met"


def verdicts(samples: Samples) -> str:
    """The issue's targets, each with the figure reached in process and whether it is met."""
    lines = [
        "",
        "Targets (in-process; each a median over the rounds of a ratio to the same round's unprotected app;",
        "'over' figures are medians of per-round differences, so they need not equal differences of medians):",
    ]
    modes = sorted({mode for way, mode, _, _ in samples if way == "in-process"})
    for mode in modes:
        key = ("in-process", mode, "repeated")
        if measured(samples, key, "hello", "noop"):
            over = paired(samples, key, "hello", ["noop"])
            lines.append(
                f"- {mode}, repeated token: /hello {paired(samples, key, 'hello'):.2f}, floor "
                f"{paired(samples, key, 'noop'):.2f}, over floor {over:+.2f} "
                f"(target <= +{REPEATED_OVER_FLOOR:.2f}): {_met(over, REPEATED_OVER_FLOOR)}"
            )
    key = ("in-process", "hs256", "unique")
    if measured(samples, key, "hello"):
        ratio = paired(samples, key, "hello")
        lines.append(
            f"- hs256, new token: /hello {ratio:.2f} (target <= {HS256_UNIQUE_RATIO:.2f}): "
            f"{_met(ratio, HS256_UNIQUE_RATIO)}"
        )
    key = ("in-process", "jwks", "unique")
    if measured(samples, key, "hello", "noop", "verify"):
        ratio, floor, verify = (paired(samples, key, route) for route in ("hello", "noop", "verify"))
        excess = paired(samples, key, "hello", ["noop", "verify"])
        verify_us = statistics.median(samples[(*key, "verify")])
        lines.append(
            f"- jwks, new RS256 token: /hello {ratio:.2f}, floor {floor:.2f}, bare RS256 verify {verify:.2f} "
            f"({verify_us:.1f} µs), over floor + verify {excess:+.2f} "
            f"(target <= +{RS256_OVER_FLOOR_AND_VERIFY:.2f}): {_met(excess, RS256_OVER_FLOOR_AND_VERIFY)}"
        )
        if measured(samples, key, "verify-between"):
            between_us = statistics.median(samples[(*key, "verify-between")])
            beyond = paired(samples, key, "hello", ["noop", "verify-between"])
            lines.append(
                f"  - the same RS256 verify timed right after a request, as the caches leave it: {between_us:.1f} µs "
                f"({between_us / verify_us:.1f}x the tight loop); over floor + that verify {beyond:+.2f}"
            )
    lines += dpop_verdict(samples)
    lines += steps_report(samples)
    rows = rows_from(samples)
    for tokens in ("unique", "repeated"):
        ours, recipe = _find(rows, "jwks", tokens, "hello"), _find(rows, "jwks", tokens, "recipe")
        if ours is not None and recipe is not None:
            head = f"- jwks, {tokens} tokens: whole-dict recipe adds {recipe.added_us:.1f} µs, /hello adds"
            if ours.added_us <= 0:
                lines.append(f"{head} nothing measurable ({ours.added_us:+.1f} µs): met")
                continue
            factor = recipe.added_us / ours.added_us
            met = "met" if factor >= JWKS_FACTOR_TARGET else "NOT met"
            lines.append(
                f"{head} {ours.added_us:.1f} µs: {factor:.1f}x less (target >= {JWKS_FACTOR_TARGET:.0f}x): {met}"
            )
    return "\n".join(lines)


def dpop_verdict(samples: Samples) -> list[str]:
    """A fresh DPoP proof: what it adds to a cached bound token, beside its bare ES256 signature check."""
    key, bearer = ("in-process", "jwks", "dpop"), ("in-process", "jwks", "repeated")
    if not (measured(samples, key, "hello", "noop", "proof") and measured(samples, bearer, "hello", "noop")):
        return []
    proof_us = statistics.median(samples[(*key, "proof")])
    beyond = paired(samples, key, "hello", ["noop", "proof"]) - paired(samples, bearer, "hello", ["noop"])
    return [
        f"- jwks, DPoP with a fresh proof (cached bound token): /hello {paired(samples, key, 'hello'):.2f}, "
        f"floor {paired(samples, key, 'noop'):.2f}, bare ES256 proof verify {paired(samples, key, 'proof'):.2f} "
        f"({proof_us:.1f} µs); beyond a repeated Bearer token and the proof's signature check: {beyond:+.2f}"
    ]


def steps_report(samples: Samples) -> list[str]:
    """What each step of a new token adds inside the request, and what the same steps cost alone."""
    lines = []
    modes = sorted({mode for way, mode, tokens, _ in samples if (way, tokens) == ("in-process", "steps")})
    for mode in modes:
        key = ("in-process", mode, "steps")
        if not measured(samples, key, *STEPS, "verify-bare"):
            continue
        ratios = [paired(samples, key, step) for step in STEPS]
        added = ", ".join(
            f"{name} {after - before:+.2f}"
            for name, before, after in zip(("parse", "signature", "claims", "insert"), ratios, ratios[1:], strict=False)
        )
        inside = statistics.median(
            hello - none for hello, none in zip(samples[(*key, "hello")], samples[(*key, "none")], strict=True)
        )
        alone = statistics.median(samples[(*key, "verify-bare")])
        between = ""
        if measured(samples, key, "verify-bare-between"):
            after_request = statistics.median(samples[(*key, "verify-bare-between")])
            between = f", right after a request {after_request:.1f} µs ({inside / after_request:.1f}x)"
        lines.append(
            f"- {mode}, a new token step by step inside the request: the miss alone {ratios[0]:.2f}, then {added}"
            f" (whole /hello {ratios[-1]:.2f}); the steps add {inside:.1f} µs to the request, and"
            f" Authenticator.verify alone takes {alone:.1f} µs in a tight loop ({inside / alone:.1f}x){between}"
        )
    return lines
