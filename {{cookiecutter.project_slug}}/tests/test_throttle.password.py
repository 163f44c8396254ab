"""The failed-login throttle: what counts as a guess, what does not, and one limit for every replica."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import event, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from {{ cookiecutter.package_name }} import passwords
from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.db import Database, create_engine
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.models import LoginFailure, User
from {{ cookiecutter.package_name }}.password_login import password_grant
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.sessions import Sessions
from {{ cookiecutter.package_name }}.throttle import Attempt, LoginThrottle, Refused, client_network

from .fixtures import BACKENDS
from .live import add_user, environment, serving_process
from .support import serving

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

ADDRESS = "192.0.2.1"
PASSWORD = "correct horse battery staple"
WRONG = {"grant_type": "password", "username": "alice", "password": "not alice's password"}


class UserLookupFails(AsyncSession):
    """A session on the real database whose lookup of a user fails as an outage does."""

    async def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if User.__table__ in statement.get_final_froms():
            raise OperationalError("SELECT", {}, ConnectionRefusedError())
        return await super().scalar(statement, *args, **kwargs)


def limited(settings: Settings, *, per_username: int, per_address: int, window: int = 300) -> Settings:
    """The settings with other limits: what an operator would set in the environment."""
    return settings.model_copy(
        update={
            "login_failures_per_username": per_username,
            "login_failures_per_address": per_address,
            "login_failure_window_seconds": window,
        }
    )


def throttle_of(
    accounts: Accounts, settings: Settings, *, per_username: int, per_address: int, window: int = 300
) -> LoginThrottle:
    return LoginThrottle(
        accounts.database.sessions, limited(settings, per_username=per_username, per_address=per_address, window=window)
    )


async def counted_rows(accounts: Accounts) -> list[str]:
    async with accounts.database.sessions() as db:
        return list(await db.scalars(select(LoginFailure.key)))


@pytest.mark.anyio
async def test_a_login_the_database_could_not_answer_is_not_counted_as_a_guess(
    accounts: Accounts, settings: Settings
) -> None:
    app = FastAPI()
    app.state.login_throttle = throttle_of(accounts, settings, per_username=2, per_address=2)
    app.state.accounts = accounts
    request = Request({"type": "http", "app": app, "client": (ADDRESS, 1), "headers": []})
    sessions = async_sessionmaker(accounts.database.engine, class_=UserLookupFails)
    for _ in range(5):  # a client retrying through an outage: each one a 503, none a guess
        async with sessions() as db:
            with pytest.raises(OperationalError):
                await password_grant(request, WRONG, db)
    assert await counted_rows(accounts) == []


@pytest.mark.anyio
async def test_attempts_in_flight_count_and_a_success_takes_its_own_back(
    accounts: Accounts, settings: Settings
) -> None:
    throttle = throttle_of(accounts, settings, per_username=2, per_address=3)
    first = await throttle.attempt("alice", ADDRESS)
    assert isinstance(first, Attempt)
    assert isinstance(await throttle.attempt("alice", ADDRESS), Attempt)
    # Two in flight fill the limit; they are decided within a second or so, which is when to retry.
    assert await throttle.attempt("alice", ADDRESS) == Refused(retry_after=1)
    await throttle.succeeded(first)
    await asyncio.sleep(1)  # this worker remembers a refusal for a second
    assert isinstance(await throttle.attempt("alice", ADDRESS), Attempt)
    assert isinstance(await throttle.attempt("bob", ADDRESS), Attempt)  # the address: 3 of 3 now
    assert isinstance(await throttle.attempt("carol", ADDRESS), Refused)
    # Counted now: alice 1 and bob 1 (the success cleared alice's two), the address 3 (the success took its
    # own back); the refused attempts left nothing behind.
    assert sorted(Counter(await counted_rows(accounts)).values()) == [1, 1, 3]


@pytest.mark.anyio
async def test_failures_fill_a_limit_until_the_oldest_leaves_the_window(accounts: Accounts, settings: Settings) -> None:
    throttle = throttle_of(accounts, settings, per_username=2, per_address=9)
    for _ in range(2):
        guess = await throttle.attempt("alice", ADDRESS)
        assert isinstance(guess, Attempt)
        await throttle.failed(guess)
    refused = await throttle.attempt("alice", ADDRESS)
    assert isinstance(refused, Refused)
    assert 299 <= refused.retry_after <= 300


@pytest.mark.anyio
async def test_a_refusal_is_remembered_for_a_second_so_a_flood_costs_one_query_a_second(
    accounts: Accounts, settings: Settings
) -> None:
    throttle = throttle_of(accounts, settings, per_username=1, per_address=999)
    guess = await throttle.attempt("alice", ADDRESS)
    assert isinstance(guess, Attempt)
    await throttle.failed(guess)
    assert isinstance(await throttle.attempt("alice", ADDRESS), Refused)
    checks: list[str] = []  # one per attempt that asks the database

    def count(*args: Any) -> None:
        if args[2].startswith("SELECT") and "FROM login_failures" in args[2]:
            checks.append(args[2])

    event.listen(accounts.database.engine.sync_engine, "before_cursor_execute", count)
    flood = [throttle.attempt("alice", f"192.0.2.{number}") for number in range(100)]
    assert all(isinstance(answer, Refused) for answer in await asyncio.gather(*flood))
    assert checks == []  # refused from memory
    await asyncio.sleep(1.1)
    flood = [throttle.attempt("alice", f"192.0.2.{number}") for number in range(100)]
    assert all(isinstance(answer, Refused) for answer in await asyncio.gather(*flood))
    assert len(checks) == 1  # one asked the database again, the others waited for the next second


@pytest.mark.anyio
async def test_an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_itself(
    accounts: Accounts, settings: Settings
) -> None:
    assert client_network("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_network("unknown") == "unknown"
    throttle = throttle_of(accounts, settings, per_username=9, per_address=2)
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
        assert isinstance(await throttle.attempt("alice", address), Attempt)
    assert isinstance(await throttle.attempt("bob", "2001:db8:1:2::9"), Refused)
    assert isinstance(await throttle.attempt("bob", "2001:db8:1:3::1"), Attempt)
    for address in (ADDRESS, "::ffff:192.0.2.1"):
        assert isinstance(await throttle.attempt("carol", address), Attempt)
    assert isinstance(await throttle.attempt("dave", ADDRESS), Refused)


@pytest.mark.anyio
async def test_no_typed_username_or_address_is_stored_and_old_failures_are_deleted(
    accounts: Accounts, settings: Settings
) -> None:
    throttle = throttle_of(accounts, settings, per_username=5, per_address=5, window=1)
    typed = "my password typed as the username"
    await throttle.attempt(typed, ADDRESS)
    keys = await counted_rows(accounts)
    assert len(keys) == 2
    assert not [key for key in keys if "password" in key or ADDRESS in key]
    plain = hashlib.sha256(typed.encode()).hexdigest()
    unkeyed = hmac.new(b"", typed.encode(), "sha256").hexdigest()
    assert not [key for key in keys if plain in key or unkeyed in key]  # a dump alone cannot test guesses
    await asyncio.sleep(1.1)  # both rows leave the window; the next attempt deletes them
    await throttle.attempt("alice", "192.0.2.2")
    assert len(await counted_rows(accounts)) == 2


@pytest.mark.anyio
async def test_a_count_the_database_cannot_write_now_fails_no_login(
    accounts: Accounts, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = await throttle_of(accounts, settings, per_username=5, per_address=5).attempt("alice", ADDRESS)
    assert isinstance(attempt, Attempt)
    away = async_sessionmaker(create_engine("sqlite+aiosqlite:////nonexistent/directory/x.db", timeout=1))
    throttle = LoginThrottle(away, settings)
    for _ in range(3):  # an outage: nothing raises, and each kind of line is logged once per interval
        await throttle.failed(attempt)
        await throttle.succeeded(attempt)
    lines = [record.getMessage().split(":")[0] for record in caplog.records if "not written" in record.getMessage()]
    assert lines == ["login_failures failure not written", "login_failures success not written"]


@pytest.mark.anyio
async def test_usernames_that_are_other_attempts_addresses_share_no_lock_or_count(
    accounts: Accounts, settings: Settings
) -> None:
    # Each attempt's username is another attempt's address, and the other way round: on PostgreSQL, a lock per
    # key taken in another order by each would deadlock (500s); a key not telling kinds apart would share counts.
    throttle = throttle_of(accounts, settings, per_username=3, per_address=3)
    pairs = [(f"10.9.0.{number % 2}", f"10.9.0.{(number + 1) % 2}") for number in range(12)]
    results = await asyncio.gather(*(throttle.attempt(user, address) for user, address in pairs))
    assert Counter(type(result).__name__ for result in results) == {"Attempt": 6, "Refused": 6}


@pytest.fixture
def alice(settings: Settings) -> str:
    return add_user(settings, "alice", password_hash=asyncio.run(passwords.hash_password(PASSWORD)))


@pytest.mark.usefixtures("alice")
def test_the_right_password_is_no_guess_even_when_the_login_fails_after_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def outage(*_: object, **__: object) -> None:
        raise OperationalError("INSERT", {}, ConnectionRefusedError())

    right = {**WRONG, "password": PASSWORD}
    with serving(create_app(settings)) as url, httpx2.Client(base_url=url) as http:
        with monkeypatch.context() as during:
            during.setattr(Sessions, "issue_tokens", outage)
            tries = settings.login_failures_per_username + 2
            statuses = [http.post("/token", data=right).status_code for _ in range(tries)]
        assert set(statuses) == {503}
        assert http.post("/token", data={**right, "scope": "admin"}).json()["error"] == "invalid_scope"
        assert http.post("/token", data=right).status_code == 200


def test_two_replicas_share_one_limit_one_guess_at_a_time_and_all_at_once(settings: Settings, tmp_path: Path) -> None:
    limit = settings.login_failures_per_username
    bob = {**WRONG, "username": "bob"}

    async def burst(clients: list[httpx2.AsyncClient]) -> list[int]:
        guesses = [{**bob, "password": f"guess {number}"} for number in range(4 * limit)]
        answers = await asyncio.gather(
            *(clients[number % 2].post("/token", data=guess) for number, guess in enumerate(guesses))
        )
        return [answer.status_code for answer in answers]

    async def guesses(urls: tuple[str, str]) -> tuple[list[int], list[int]]:
        clients = [httpx2.AsyncClient(base_url=url, timeout=60) for url in urls]
        try:
            one_by_one = [
                (await clients[number % 2].post("/token", data=WRONG)).status_code for number in range(limit + 2)
            ]
            return one_by_one, await burst(clients)
        finally:
            for client in clients:
                await client.aclose()

    environ = environment(settings)  # the service in two processes of its own on one database, as two replicas
    with serving_process(environ, tmp_path) as one, serving_process(environ, tmp_path) as two:
        one_by_one, at_once = asyncio.run(guesses((one, two)))
    assert one_by_one == [400] * limit + [429, 429]
    assert Counter(at_once) == {400: limit, 429: 3 * limit}  # every guess past the limit refused before its check


@pytest.fixture
def isolation(settings: Settings, backend: str, request: pytest.FixtureRequest) -> str:
    """The database's default isolation level, as an operator may set it (PostgreSQL; SQLite has one only)."""
    level: str = request.param
    if backend == "postgresql":
        url = settings.database_url.get_secret_value()

        async def set_default() -> None:
            engine = create_engine(url, timeout=5)
            async with engine.begin() as connection:
                database = make_url(url).database
                await connection.execute(
                    text(f"ALTER DATABASE {database} SET default_transaction_isolation = '{level}'")
                )
            await engine.dispose()

        asyncio.run(set_default())
    return level


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"], indirect=True)
async def test_attempts_at_once_are_held_to_the_limit_whatever_the_isolation(
    settings: Settings, isolation: str
) -> None:
    database = Database(settings)  # connections made after the default changed
    throttle = LoginThrottle(database.sessions, limited(settings, per_username=5, per_address=99))

    try:
        results = await asyncio.gather(*(throttle.attempt("alice", f"192.0.2.{number}") for number in range(15)))
    finally:
        await database.aclose()
    assert Counter(type(result).__name__ for result in results) == {"Attempt": 5, "Refused": 10}, isolation


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"], indirect=True)
@pytest.mark.usefixtures("alice")
def test_the_right_password_sent_at_once_gets_no_5xx_whatever_the_isolation(settings: Settings, isolation: str) -> None:
    right = {**WRONG, "password": PASSWORD}

    async def logins(url: str) -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
            return list(await asyncio.gather(*(http.post("/token", data=right) for _ in range(8))))

    with serving(create_app(settings)) as url:
        answers = asyncio.run(logins(url))
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 429}, (isolation, statuses)
    assert statuses[200] >= 1
    # Refused only because attempts in flight filled the limit: retry in a second, not after the window.
    assert {answer.headers["retry-after"] for answer in answers if answer.status_code == 429} <= {"1"}
