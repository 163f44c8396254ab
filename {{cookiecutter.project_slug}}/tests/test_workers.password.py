"""Several workers on one database, over real HTTP: racing refreshes, revocations seen by another
process, and a database outage (PostgreSQL stopped) that never turns a valid token's request into a 5xx.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from {{ cookiecutter.package_name }} import passwords
from {{ cookiecutter.package_name }}.db import create_engine, upgrade
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .fixtures import BACKENDS
from .live import add_user, environment, run_module, serving_process
from .postgres import require_bindir, running_postgres
from .support import bearer, serving

PASSWORD = "correct horse battery staple"
# How soon another process must refuse a revoked token: pushed on PostgreSQL, polled on SQLite.
PROPAGATION_SECONDS = {"postgresql": 1.0, "sqlite": 5.0}


def login(http: httpx2.Client) -> dict[str, str]:
    response = http.post("/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def refused_within(http: httpx2.Client, token: str, seconds: float) -> float:
    """Seconds until ``token`` gets 401 at ``http``; fails after ``seconds``."""
    start = time.monotonic()
    while (status := http.get("/hello", params={"name": "x"}, headers=bearer(token)).status_code) == 200:
        assert time.monotonic() - start < seconds, f"still accepted after {seconds} s"
        time.sleep(0.02)
    assert status == 401
    return time.monotonic() - start


@pytest.fixture
def alice(settings: Settings) -> str:
    return add_user(settings, "alice", password_hash=asyncio.run(passwords.hash_password(PASSWORD)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.usefixtures("alice")
def test_two_concurrent_refreshes_of_one_token_have_exactly_one_winner(settings: Settings) -> None:
    with serving(create_app(settings)) as base_url, httpx2.Client(base_url=base_url) as http:
        for _ in range(3):
            refresh_token = login(http)["refresh_token"]
            forms = [{"grant_type": "refresh_token", "refresh_token": refresh_token}] * 2
            with ThreadPoolExecutor(2) as pool:
                statuses = sorted(pool.map(lambda form: http.post("/token", data=form).status_code, forms))
            assert statuses == [200, 400]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.usefixtures("alice")
def test_logout_and_disable_reach_another_process_in_time(settings: Settings, backend: str, tmp_path: Path) -> None:
    limit = PROPAGATION_SECONDS[backend]
    with (
        serving(create_app(settings)) as here_url,
        serving_process(environment(settings), tmp_path) as there_url,
        httpx2.Client(base_url=here_url) as here,
        httpx2.Client(base_url=there_url) as there,
    ):
        logged_out, disabled = login(here)["access_token"], login(here)["access_token"]
        for token in (logged_out, disabled):
            assert there.get("/hello", params={"name": "x"}, headers=bearer(token)).status_code == 200  # cached there
        assert here.post("/logout", headers=bearer(logged_out)).status_code == 204
        refused_within(there, logged_out, limit)
        disabling = run_module("users", "disable", "alice", env=environment(settings))
        assert disabling.returncode == 0, disabling.stderr
        refused_within(there, disabled, limit)
        refused_within(here, disabled, limit)


def test_a_database_outage_keeps_token_routes_up_and_logins_answer_503(tmp_path: Path) -> None:
    with running_postgres(require_bindir()) as server:
        url = server.url()

        async def migrate() -> None:
            engine = create_engine(url, timeout=5)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()

        asyncio.run(migrate())
        settings = Settings(
            _env_file=None,
            secret="outage-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            database_url=url,
            database_timeout_seconds=2,
        )
        add_user(settings, "alice", password_hash=asyncio.run(passwords.hash_password(PASSWORD)))
        with serving(create_app(settings)) as base_url, httpx2.Client(base_url=base_url, timeout=15) as http:
            used, fresh = login(http), login(http)
            assert http.get("/hello", params={"name": "x"}, headers=bearer(used["access_token"])).status_code == 200
            server.stop()
            for tokens in (used, fresh):  # one cached, one never seen: neither needs the database
                hello = http.get("/hello", params={"name": "x"}, headers=bearer(tokens["access_token"]))
                assert hello.status_code == 200
            for form in (
                {"grant_type": "password", "username": "alice", "password": PASSWORD},
                {"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]},
            ):
                response = http.post("/token", data=form)
                assert (response.status_code, response.json()["error"]) == (503, "temporarily_unavailable")
                assert int(response.headers["retry-after"]) > 0
            # A bad token is still refused as such, database or not.
            assert http.get("/hello", params={"name": "x"}, headers=bearer("x.y.z")).status_code == 401
