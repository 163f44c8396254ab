"""Session-wide bakes: one project per auth mode, reused by the slow tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .attacks import TALLIES
from .baked import AUDIENCE, bake
from .combinations import LOGIN_BAKES, MODES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """One line per mode with the attack battery's counted results (``test_attacks.py``)."""
    tallies = config.stash.get(TALLIES, {})
    if tallies:
        terminalreporter.section("attack battery")
        for mode, tally in tallies.items():
            terminalreporter.write_line(tally.summary(mode))


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each mode (login=none) and each login (hs256) baked once, with a package of its own (``svc_<mode or login>``)."""
    root = tmp_path_factory.mktemp("baked")
    issuers = {"hs256": "https://auth.example.com", "jwks": "http://127.0.0.1:9400", "dev": "https://auth.example.com"}
    bakes = {
        mode: bake(
            root / mode, project_name=f"Svc {mode}", auth_mode=mode, jwt_issuer=issuers[mode], jwt_audience=AUDIENCE
        )
        for mode in MODES
    }
    for login in LOGIN_BAKES:
        bakes[login] = bake(
            root / login, project_name=f"Svc {login}", auth_mode="hs256", login=login, jwt_audience=AUDIENCE
        )
    return bakes
