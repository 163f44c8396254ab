"""``make bench``: its ratio arithmetic, and a whole run on a tiny setting. Speed is never asserted here."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import pytest

from bench.__main__ import WRK_HINT, main
from bench.login_worker import BACKENDS
from bench.report import Samples, paired, steps_report, verdicts

from .combinations import MODES


def test_each_round_is_divided_by_its_own_unprotected_app_and_targets_read_against_the_floor() -> None:
    way, mode, tokens = key = ("in-process", "jwks", "unique")
    costs = {"open": [100.0, 200.0], "noop": [110.0, 240.0], "hello": [150.0, 280.0], "verify": [20.0, 20.0]}
    samples: Samples = {(way, mode, tokens, route): values for route, values in costs.items()}

    assert paired(samples, key, "hello") == pytest.approx((1.5 + 1.4) / 2)
    assert paired(samples, key, "hello", ["noop"]) == pytest.approx((0.4 + 0.2) / 2)
    assert paired(samples, key, "hello", ["noop", "verify"]) == pytest.approx((0.2 + 0.1) / 2)
    expected = "- jwks, new RS256 token: /hello 1.45, floor 1.15, bare RS256 verify 0.15 (20.0 µs), over floor + verify"
    assert f"{expected} +0.15 (target <= +0.10): NOT met" in verdicts(samples)

    samples[(*key, "verify-between")] = [30.0, 40.0]
    after_request = "  - the same RS256 verify timed right after a request, as the caches leave it: 35.0 µs (1.8x the"
    assert f"{after_request} tight loop); over floor + that verify +0.05" in verdicts(samples)


def test_each_step_of_a_new_token_reads_against_the_step_before_and_the_steps_against_verify_alone() -> None:
    key = ("in-process", "hs256", "steps")
    costs = {"open": 100.0, "none": 120.0, "parse": 140.0, "signature": 145.0, "claims": 155.0, "hello": 160.0}
    costs |= {"verify-bare": 16.0, "verify-bare-between": 25.0}
    samples: Samples = {(*key, route): [cost] for route, cost in costs.items()}

    assert steps_report(samples) == [
        "- hs256, a new token step by step inside the request: the miss alone 1.20, then parse +0.20, "
        "signature +0.05, claims +0.10, insert +0.05 (whole /hello 1.60); the steps add 40.0 µs to the request, "
        "and Authenticator.verify alone takes 16.0 µs in a tight loop (2.5x), right after a request 25.0 µs (1.6x)"
    ]


@pytest.mark.slow
def test_bench_reports_finite_ratios_step_timings_and_steps_and_says_wrk_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows_file = tmp_path / "rows.json"
    tiny = ["--rounds", "2", "--requests", "5", "--pool", "8", "--http-seconds", "1"]
    main(
        [*tiny, "--profile", "--steps", "--runs", "2", "--wrk", str(tmp_path / "no-wrk-here"), "--json", str(rows_file)]
    )

    out, err = capsys.readouterr()
    assert "| way | mode | tokens | route | µs / request | ratio | over floor | added µs |" in out
    assert "machine: " in out
    assert WRK_HINT in err
    assert all(f"measuring {mode} (run 2 of 2) ..." in err for mode in MODES)
    assert "2 worker process(es) per mode, each 2 rounds x 5 requests per route in random order, rounds pooled" in out
    assert WRK_HINT in out
    rows = json.loads(rows_file.read_text())
    measured = {(row["mode"], row["tokens"], row["route"]) for row in rows}
    for mode in MODES:
        kinds = ("repeated", "unique")
        assert {(mode, kind, route) for kind in kinds for route in ("open", "noop", "hello")} <= measured
    assert {("hs256", "unique", "recipe"), ("jwks", "unique", "recipe"), ("jwks", "unique", "verify")} <= measured
    assert ("jwks", "unique", "verify-between") in measured
    assert {("jwks", "dpop", route) for route in ("open", "noop", "hello", "proof")} <= measured
    steps = ("open", "noop", "none", "parse", "signature", "claims", "hello", "verify-bare", "verify-bare-between")
    assert {(mode, "steps", route) for mode in MODES for route in steps} <= measured
    assert ("dev", "unique", "recipe") not in measured
    assert {row["way"] for row in rows} == {"in-process"}
    for row in rows:
        assert math.isfinite(row["ratio"]), row
        assert row["ratio"] > 0, row
        assert (row["over_floor"] is not None) == (row["route"] in {"hello", "recipe"}), row
    for mode in MODES:
        assert f"- {mode}, repeated token: " in out
    assert "- hs256, new token: " in out
    assert "- jwks, new RS256 token: " in out
    assert ", bare RS256 verify " in out
    assert "  - the same RS256 verify timed right after a request, as the caches leave it: " in out
    assert "jwks, unique tokens: whole-dict recipe adds" in out
    assert "- jwks, DPoP with a fresh proof (cached bound token): /hello " in out
    for mode in MODES:
        assert f"- {mode}, a new token step by step inside the request: the miss alone " in out
    for mode in MODES:
        assert f"### Where the time goes: {mode} mode" in out
    jwks_profile = out.split("### Where the time goes: jwks mode")[1]
    assert "| … … signature check |" in jwks_profile
    assert "| … … verified-token cache lookup |" in jwks_profile


@pytest.mark.slow
def test_login_bench_reports_each_login_route_on_both_databases_and_hello_beside_the_plain_bake(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny = ["--modes", "hs256", "--rounds", "2", "--requests", "5", "--pool", "8", "--http-seconds", "0"]
    main([*tiny, "--login", "all", "--login-rounds", "2", "--login-requests", "2"])

    out = capsys.readouterr().out
    assert "## Login paths (hs256 bakes with a login)" in out
    login_rows = {tuple(cells[:3]): cells[3:] for cells in table_rows(out, "| login | database | route |")}
    routes = {
        "password": ("POST /token (password grant)", "POST /token (refresh grant)"),
        "oidc": ("POST /authorize (code exchange)", "POST /token (refresh grant)"),
    }
    expected = {(login, db, route) for login, pair in routes.items() for db in BACKENDS for route in pair}
    assert set(login_rows) == {*expected, ("password", "none", "argon2id verify (pwdlib, bare)")}
    for cells in login_rows.values():
        median, p90, per_second, cpu = (float(cell) for cell in cells[:4])
        assert 0 < median <= p90, cells
        assert per_second > 0, cells
        assert cpu > 0, cells
    for database in BACKENDS:
        password_steps = login_rows[("password", database, routes["password"][0])][4]
        assert "argon2id verify, in a worker thread" in password_steps
        assert "failed-login count: INSERT, SELECT, COMMIT" in password_steps
    assert "code exchange at the provider (HTTP)" in login_rows[("oidc", "postgresql", routes["oidc"][0])][4]
    assert "- argon2id (m = " in out
    assert "beside the password grant's medians: on sqlite, " in out
    hello_rows = {tuple(cells[:2]): cells[2:] for cells in table_rows(out, "| bake | tokens |")}
    bakes = ("hs256", "hs256 + password", "hs256 + oidc")
    assert set(hello_rows) == {(bake, tokens) for bake in bakes for tokens in ("repeated", "unique")}
    for (bake, _), cells in hello_rows.items():
        assert all(math.isfinite(float(cell)) for cell in cells[:4]), cells
        without_view, view_adds = cells[4:]
        if bake == "hs256":
            assert (without_view, view_adds) == ("", ""), cells
        else:
            assert math.isfinite(float(without_view)), cells
            assert re.fullmatch(r"[+-]\d+\.\d\d \([+-]\d+\.\d µs\)", view_adds), cells
    for bake in bakes[1:]:
        view = re.search(rf"^- {re.escape(bake)}: authenticate alone, .* the view adds ([+-]\d+\.\d\d) µs", out, re.M)
        assert view is not None, out


def table_rows(out: str, header: str) -> list[list[str]]:
    """The cells of each row of the Markdown table whose header starts with ``header``."""
    lines = out[out.index(header) :].splitlines()[2:]
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines)
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
