"""Turn the workers' medians into ratios, a Markdown table and the issue's targets."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LABELS = {
    "twin": "unprotected twin",
    "hello": "protected /hello",
    "noop": "one no-op Depends",
    "recipe": "common recipe",
}
RECIPES = {"hs256": "HTTPBearer + jwt.decode (HS256)", "jwks": "whole JWKS dict to jwt.decode (4 RSA keys)"}
# (mode, tokens): the highest protected/unprotected ratio the issue accepts, in process.
TARGETS = {
    ("hs256", "repeated"): 1.30,
    ("jwks", "repeated"): 1.30,
    ("dev", "repeated"): 1.30,
    ("hs256", "unique"): 2.0,
    ("jwks", "unique"): 2.5,
}
JWKS_FACTOR_TARGET = 5.0


@dataclass(frozen=True)
class Row:
    """One route measured one way, against the unprotected twin of the same rounds.

    ``ratio`` and ``added_us`` are medians over the rounds of the route's cost
    divided by (or minus) the twin's cost in that same round: pairing each
    round with its own baseline cancels the drift of a busy machine.
    """

    way: str
    mode: str
    tokens: str
    route: str
    median_us: float
    twin_us: float
    ratio: float
    added_us: float

    @property
    def label(self) -> str:
        return RECIPES[self.mode] if self.route == "recipe" else LABELS[self.route]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def rows_from(mode: str, results: list[dict[str, Any]]) -> list[Row]:
    """Rows for one mode's results, each paired round by round with its own run's twin."""
    twins = {(r["way"], r["tokens"]): r["samples_us"] for r in results if r["route"] == "twin"}
    rows = []
    for result in results:
        samples, twin = result["samples_us"], twins[result["way"], result["tokens"]]
        rows.append(
            Row(
                result["way"],
                mode,
                result["tokens"],
                result["route"],
                median_us=statistics.median(samples),
                twin_us=statistics.median(twin),
                ratio=statistics.median(cost / base for cost, base in zip(samples, twin, strict=True)),
                added_us=statistics.median(cost - base for cost, base in zip(samples, twin, strict=True)),
            )
        )
    return rows


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
        "| way | mode | tokens | route | µs / request | ratio | added µs |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    order = {"twin": 0, "noop": 1, "hello": 2, "recipe": 3}
    for row in sorted(rows, key=lambda r: (r.way != "in-process", r.mode, r.tokens != "repeated", order[r.route])):
        lines.append(
            f"| {row.way} | {row.mode} | {row.tokens} | {row.label} | {row.median_us:.1f} | "
            f"{row.ratio:.2f} | {row.added_us:+.1f} |"
        )
    return "\n".join([*lines, "", *(f"- {note}" for note in notes)])


def _find(rows: list[Row], mode: str, tokens: str, route: str) -> Row | None:
    return next(
        (r for r in rows if (r.way, r.mode, r.tokens, r.route) == ("in-process", mode, tokens, route)),
        None,
    )


def verdicts(rows: list[Row]) -> str:
    """The issue's targets, each with the figure reached in process and whether it is met."""
    lines = ["", "Targets (in-process medians, same run):"]
    for (mode, tokens), limit in TARGETS.items():
        row = _find(rows, mode, tokens, "hello")
        if row is not None:
            met = "met" if row.ratio <= limit else "NOT met"
            lines.append(f"- {mode}, {tokens} tokens: ratio {row.ratio:.2f} (target <= {limit:.2f}): {met}")
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
