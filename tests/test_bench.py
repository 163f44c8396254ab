"""``make bench`` on a tiny setting: it must run and report every ratio. Speed is never asserted here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.__main__ import WRK_HINT, main

from .baked import MODES

pytestmark = pytest.mark.slow


def test_bench_reports_finite_ratios_and_step_timings_and_says_wrk_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows_file = tmp_path / "rows.json"
    tiny = ["--rounds", "2", "--requests", "5", "--pool", "8", "--http-seconds", "1"]
    main([*tiny, "--profile", "--wrk", str(tmp_path / "no-wrk-here"), "--json", str(rows_file)])

    out, err = capsys.readouterr()
    assert "| way | mode | tokens | route | µs / request | ratio | added µs |" in out
    assert "machine: " in out
    assert WRK_HINT in err
    assert WRK_HINT in out
    rows = json.loads(rows_file.read_text())
    measured = {(row["mode"], row["tokens"], row["route"]) for row in rows}
    for mode in MODES:
        assert {(mode, kind, route) for kind in ("repeated", "unique") for route in ("twin", "hello")} <= measured
    assert {("hs256", "unique", "recipe"), ("jwks", "unique", "recipe"), ("dev", "repeated", "noop")} <= measured
    assert {row["way"] for row in rows} == {"in-process"}
    for row in rows:
        assert math.isfinite(row["ratio"]), row
        assert row["ratio"] > 0, row
    assert "jwks, unique tokens: whole-dict recipe adds" in out
    for mode in MODES:
        assert f"### Where the time goes: {mode} mode" in out
    assert "| signature check |" in out.split("### Where the time goes: jwks mode")[1]
