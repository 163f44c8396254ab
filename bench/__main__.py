"""``make bench``: what authorization costs per request, in each auth mode.

Bakes each mode into a scratch folder, runs ``bench.worker`` in each baked
project (in-process through ASGI, then over HTTP with uvicorn and wrk), and
prints one table with the machine it ran on. ``--json`` also writes the rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.baked import bake
from tests.combinations import MODES

from .login import LOGINS, login_part, run_in_bake
from .report import Samples, machine, rows_from, samples_from, table, verdicts

WRK_HINT = "wrk not found: the HTTP runs are skipped (install it with: apt-get install -y wrk)"


def run_mode(project: Path, mode: str, options: argparse.Namespace, http_seconds: int) -> tuple[Samples, str]:
    """Run the worker in a baked project; return its samples and its step timings, if asked for."""
    args = ["--mode", mode, "--rounds", str(options.rounds), "--requests", str(options.requests)]
    args += ["--pool", str(options.pool), "--http-rounds", str(options.http_rounds)]
    args += ["--http-seconds", str(http_seconds), "--wrk", options.wrk]
    args += [flag for flag, wanted in (("--profile", options.profile), ("--steps", options.steps)) if wanted]
    output = run_in_bake(project, "bench.worker", args, f"bench failed in {mode} mode")
    profile = f"\n### Where the time goes: {mode} mode\n\n{output['profile']}" if output["profile"] else ""
    return samples_from(mode, output["results"]), profile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--rounds", type=int, default=51, help="in-process rounds per route")
    parser.add_argument("--requests", type=int, default=400, help="in-process requests per route and round")
    parser.add_argument("--pool", type=int, default=1024, help="unique tokens per mode")
    parser.add_argument("--http-rounds", type=int, default=5, help="wrk runs per route")
    parser.add_argument("--http-seconds", type=int, default=2, help="length of one wrk run; 0 skips HTTP")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "", help="the wrk binary")
    parser.add_argument("--profile", action="store_true", help="also time each step of /hello, in process")
    parser.add_argument(
        "--steps", action="store_true", help="also a new token step by step inside the request, in process"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="worker processes per mode, one after another; their rounds are pooled"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--login", choices=["none", *LOGINS, "all"], default="none", help="also the login paths")
    parser.add_argument("--login-rounds", type=int, default=11, help="rounds per login route and database")
    parser.add_argument("--login-requests", type=int, default=10, help="requests per login route and round")
    options = parser.parse_args(argv)
    logins = {"none": [], "all": list(LOGINS)}.get(options.login, [options.login])
    if logins and "hs256" not in options.modes:
        options.modes.append("hs256")  # the login bakes' /hello reads against the plain hs256 bake's

    http_seconds = options.http_seconds
    notes = [machine()]
    if http_seconds > 0 and not (options.wrk and Path(options.wrk).is_file()):
        print(WRK_HINT, file=sys.stderr)
        notes.append(WRK_HINT)
        http_seconds = 0
    samples: Samples = {}
    profiles: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-bake-") as folder:
        projects = {
            mode: bake(Path(folder), project_name=f"Bench {mode}", auth_mode=mode, jwt_issuer=issuer(mode))
            for mode in options.modes
        }
        # A fresh process per run: run to run, one process's memory layout can move a figure more than rounds do.
        for run in range(1, options.runs + 1):
            for mode, project in projects.items():
                print(f"measuring {mode} (run {run} of {options.runs}) ...", file=sys.stderr)
                run_options = options if run == 1 else argparse.Namespace(**{**vars(options), "profile": False})
                mode_samples, profile = run_mode(project, mode, run_options, http_seconds)
                for key, values in mode_samples.items():
                    samples.setdefault(key, []).extend(values)
                profiles.append(profile)
    notes.append(
        "every route is GET /hello of the baked app built by create_app() with main.PROTECTED swapped for the "
        "guard named: the same routers in the same order; the bare verify checks the tokens' RS256 signatures "
        "with cryptography alone"
    )
    notes.append(
        f"in-process: ASGI calls, {options.runs} worker process(es) per mode, each {options.rounds} rounds x "
        f"{options.requests} requests per route in random order, rounds pooled; "
        f"cost = CPU time of the process per request; unique tokens: a pool of {options.pool} cycled through "
        f"a cache of {options.pool // 2}, so every request is a cache miss"
    )
    notes.append(
        "µs / request: median over the rounds; ratio, over floor and added µs: medians over the rounds of the "
        "route's cost divided by the unprotected app's cost in the same round, the same less the no-op floor's, "
        "and the route's cost minus the unprotected app's"
    )
    if http_seconds > 0:
        notes.append(
            f"HTTP: one uvicorn (1 worker) per route and wrk (1 thread, 16 connections) on 127.0.0.1, "
            f"{options.http_rounds} rounds x {http_seconds} s per route; "
            "cost = CPU time of the route's uvicorn process per request served"
        )
    rows = rows_from(samples)
    print(table(rows, notes))
    print(verdicts(samples))
    print("".join(profiles), end="")
    if logins:
        print(login_part(logins, options, samples))
    if options.json:
        options.json.write_text(json.dumps([row.as_dict() for row in rows], indent=1))


def issuer(mode: str) -> str:
    """A loopback issuer for jwks mode (the worker points it at its own provider)."""
    return "http://127.0.0.1:9400" if mode == "jwks" else "https://auth.example.com"


if __name__ == "__main__":
    main()
