"""``make bench LOGIN=...``: what logging in costs, and whether the revocation view grows ``/hello``'s cost.

Bakes ``auth_mode=hs256`` with each login asked for and runs ``bench.login_worker``
in each: the login routes on SQLite and on PostgreSQL, as latencies (median, p90)
and requests per second of one worker taking one request at a time. These have no
unprotected twin to divide by, so the table says instead where their time goes.
Then the worker measures each login bake's ``/hello``, which also looks the token's
``jti`` and ``sub`` up in the revocation view, as ``bench.worker`` measures the plain
modes, with the same app once more without the view in the same rounds: what the
view adds, and the ratios beside the plain hs256 bake's of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.baked import TEMPLATE, bake, clean_env

from .app import PACKAGE
from .login_worker import WITHOUT_VIEW
from .report import Samples, measured, paired, samples_from

LOGINS = ("password", "oidc")


def worker_env(project: Path) -> dict[str, str]:
    """The environment of a worker process in a baked project: its package and the template's bench."""
    env = clean_env(PYTHONPATH=os.pathsep.join([str(project / "src"), str(TEMPLATE)]))
    env[PACKAGE] = project.name.replace("-", "_")
    return env


def run_in_bake(project: Path, module: str, args: list[str], failure: str) -> dict[str, Any]:
    """Run a bench worker module in a baked project; its JSON output, or exit saying ``failure``."""
    done = subprocess.run(
        [sys.executable, "-P", "-m", module, *args],
        cwd=project,
        env=worker_env(project),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{failure}:\n{done.stderr}")
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def run_worker(project: Path, login: str, *args: str) -> dict[str, Any]:
    """The login worker's output in a baked project."""
    return run_in_bake(project, "bench.login_worker", ["--login", login, *args], f"login bench failed in {login} bake")


@dataclass(frozen=True)
class Summary:
    """One route on one database: wall-time latency, requests per second one at a time, CPU, steps."""

    backend: str
    route: str
    median_ms: float
    p90_ms: float
    per_second: float
    cpu_ms: float
    steps: str

    @classmethod
    def of(cls, result: dict[str, Any]) -> Summary:
        latencies, walls, cpus = result["latencies_ms"], result["round_wall_s"], result["round_cpu_s"]
        per_round = len(latencies) // len(walls)
        rounds_steps: list[dict[str, float]] = result["round_steps_ms"]
        labels = dict.fromkeys(label for steps in rounds_steps for label in steps)
        steps = "; ".join(
            f"{label} {statistics.median(steps.get(label, 0.0) for steps in rounds_steps):.1f}" for label in labels
        )
        return cls(
            result["backend"] or "none",
            result["route"],
            statistics.median(latencies),
            statistics.quantiles(latencies, n=10, method="inclusive")[-1],
            statistics.median(per_round / wall for wall in walls),
            statistics.median(cpu / per_round * 1e3 for cpu in cpus),
            steps,
        )

    def row(self, login: str) -> str:
        return (
            f"| {login} | {self.backend} | {self.route} | {self.median_ms:.1f} | {self.p90_ms:.1f} | "
            f"{self.per_second:.0f} | {self.cpu_ms:.1f} | {self.steps} |"
        )


def argon2_line(summaries: list[Summary], parameters: str | None) -> str | None:
    """How much of the password grant, in wall time and in CPU time, the bare argon2id verify accounts for."""
    bare = next((s for s in summaries if s.route.startswith("argon2id")), None)
    if bare is None:
        return None
    shares = "; ".join(
        f"on {s.backend}, {bare.median_ms / s.median_ms:.0%} of its wall time and {bare.cpu_ms / s.cpu_ms:.0%} "
        "of its CPU time"
        for s in summaries
        if "password grant" in s.route
    )
    return (
        f"argon2id ({parameters}): the bare pwdlib verify takes {bare.median_ms:.1f} ms (median; p90 "
        f"{bare.p90_ms:.1f} ms), {bare.cpu_ms:.1f} ms of CPU; beside the password grant's medians: {shares}"
    )


def revocation_rows(samples: Samples, bakes: list[str]) -> list[str]:
    """``/hello`` of each bake against its own unprotected app and no-op floor, and what the view adds."""
    rows = []
    for bake_name in bakes:
        for tokens in ("repeated", "unique"):
            key = ("in-process", bake_name, tokens)
            if not measured(samples, key, "open", "noop", "hello"):
                continue
            view = ""
            if measured(samples, key, WITHOUT_VIEW):
                pairs = zip(samples[(*key, "hello")], samples[(*key, WITHOUT_VIEW)], strict=True)
                added_us = statistics.median(hello - without for hello, without in pairs)
                added = paired(samples, key, "hello", [WITHOUT_VIEW])
                view = f"{paired(samples, key, WITHOUT_VIEW):.2f} | {added:+.2f} ({added_us:+.1f} µs)"
            rows.append(
                f"| {bake_name} | {tokens} | {statistics.median(samples[(*key, 'open')]):.0f} | "
                f"{paired(samples, key, 'noop'):.2f} | {paired(samples, key, 'hello'):.2f} | "
                f"{paired(samples, key, 'hello', ['noop']):+.2f} | {view or ' | '} |"
            )
    return rows


def view_line(bake_name: str, view_us: dict[str, list[float]]) -> str:
    """What the revocation view adds to ``authenticate`` alone: medians over rounds, in CPU µs."""
    with_view, without = view_us["with"], view_us["without"]
    added = statistics.median(w - wo for w, wo in zip(with_view, without, strict=True))
    return (
        f"{bake_name}: authenticate alone, a cached token, {len(with_view)} rounds of interleaved calls: "
        f"{statistics.median(with_view):.2f} µs with the view, {statistics.median(without):.2f} µs without: "
        f"the view adds {added:+.2f} µs per request"
    )


def login_part(logins: list[str], options: argparse.Namespace, samples: Samples) -> str:
    """Measure each login bake; the report's login section, in Markdown."""
    latencies = [
        "| login | database | route | median ms | p90 ms | req/s, one at a time | CPU ms / request | "
        "where the time goes, ms / request (medians) |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    notes: list[str] = []
    view_notes: list[str] = []
    bakes = ["hs256"]
    with tempfile.TemporaryDirectory(prefix="bench-login-bake-") as folder:
        for login in logins:
            project = bake(Path(folder), project_name=f"Bench login {login}", auth_mode="hs256", login=login)
            print(f"measuring login={login} ...", file=sys.stderr)
            login_sizes = ["--rounds", str(options.login_rounds), "--requests", str(options.login_requests)]
            output = run_worker(project, login, *login_sizes)
            summaries = [Summary.of(result) for result in output["results"]]
            latencies += [summary.row(login) for summary in summaries]
            notes += filter(None, [argon2_line(summaries, output["argon2"])])
            hello_sizes = [
                "--rounds",
                str(options.rounds),
                "--requests",
                str(options.requests),
                "--pool",
                str(options.pool),
            ]
            hello = run_worker(project, login, "--hello", *hello_sizes)
            bakes.append(f"hs256 + {login}")
            samples = {**samples, **samples_from(bakes[-1], hello["results"])}
            view_notes.append(view_line(bakes[-1], hello["view_us"]))
    revocation = [
        "| bake | tokens | unprotected µs | floor | `/hello` | over floor | without the view | the view adds |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *revocation_rows(samples, bakes),
    ]
    notes.append(
        f"login routes: in process through ASGI, {options.login_rounds} rounds x {options.login_requests} "
        "sequential requests per route and database, in a fresh random order each round; latency = wall time "
        "(the database and the provider are other processes on this machine); req/s = requests / wall time of "
        "a round, median over rounds; CPU = this process's CPU time, hashing threads included"
    )
    notes.append(
        "PostgreSQL: a throwaway server from the installed binaries (the bake's tests/postgres.py, fsync off); "
        "the provider: npm oidc-provider on 127.0.0.1 (the bake's tests/upstream.py); each code is fetched "
        "(GET /login, the provider's pages) before its round, outside the timing"
    )
    return "\n".join(
        [
            "",
            "## Login paths (hs256 bakes with a login)",
            "",
            *latencies,
            "",
            *(f"- {note}" for note in notes),
            "",
            "## /hello with the revocation view (jti deny-list, per-user not-before), in process",
            "",
            *revocation,
            "",
            "- ratios as above: medians over the rounds of a cost over the same bake's unprotected app in the "
            "same round; without the view: the login bake's app with the plain Authenticator in place of the one "
            "that consults the revocation view, in the same rounds; the view adds: /hello less that, per round",
            *(f"- {note}" for note in view_notes),
        ]
    )
