"""The failed-login throttle: what counts as a guess, what does not, and one limit for every replica."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.models import LoginFailure, User
from {{ cookiecutter.package_name }}.password_login import password_grant
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.throttle import Attempt, LoginThrottle

from .fixtures import BACKENDS
from .support import serving

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

ADDRESS = "192.0.2.1"
SECRET = "a secret of this test, for the keyed hashes of the rows"
WRONG = {"grant_type": "password", "username": "alice", "password": "not alice's password"}


class UserLookupFails(AsyncSession):
    """A session on the real database whose lookup of a user fails as an outage does."""

    async def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if User.__table__ in statement.get_final_froms():
            raise OperationalError("SELECT", {}, ConnectionRefusedError())
        return await super().scalar(statement, *args, **kwargs)


async def counted_rows(accounts: Accounts) -> list[str]:
    async with accounts.database.sessions() as db:
        return list(await db.scalars(select(LoginFailure.key)))


@pytest.mark.anyio
async def test_a_login_the_database_could_not_answer_is_not_counted_as_a_guess(accounts: Accounts) -> None:
    throttle = LoginThrottle(accounts.database.sessions, secret=SECRET, per_username=2, per_address=2, window=300)
    app = FastAPI()
    app.state.login_throttle = throttle
    app.state.accounts = accounts
    request = Request({"type": "http", "app": app, "client": (ADDRESS, 1), "headers": []})
    sessions = async_sessionmaker(accounts.database.engine, class_=UserLookupFails)
    for _ in range(5):  # a client retrying through an outage: each one a 503, none a guess
        async with sessions() as db:
            with pytest.raises(OperationalError):
                await password_grant(request, WRONG, db)
    assert await counted_rows(accounts) == []


@pytest.mark.anyio
async def test_attempts_in_flight_count_and_a_success_takes_its_own_back(accounts: Accounts) -> None:
    throttle = LoginThrottle(accounts.database.sessions, secret=SECRET, per_username=2, per_address=3, window=300)
    async with accounts.database.sessions() as db:
        first = await throttle.attempt(db, "alice", ADDRESS)
        assert isinstance(first, Attempt)
        assert isinstance(await throttle.attempt(db, "alice", ADDRESS), Attempt)
        wait = await throttle.attempt(db, "alice", ADDRESS)  # two in flight: the limit
        assert isinstance(wait, int)
        assert 299 <= wait <= 300
        await throttle.succeeded(db, first)
        await db.commit()
        assert isinstance(await throttle.attempt(db, "alice", ADDRESS), Attempt)
        assert isinstance(await throttle.attempt(db, "bob", ADDRESS), Attempt)  # the address: 3 of 3 now
        assert isinstance(await throttle.attempt(db, "carol", ADDRESS), int)
    # Counted now: alice 1 and bob 1 (the success cleared alice's two), the address 3 (the success took its
    # own back); the refused attempts left nothing behind.
    assert sorted(Counter(await counted_rows(accounts)).values()) == [1, 1, 3]


@pytest.mark.anyio
async def test_no_typed_username_or_address_is_stored_and_old_failures_are_deleted(accounts: Accounts) -> None:
    throttle = LoginThrottle(accounts.database.sessions, secret=SECRET, per_username=5, per_address=5, window=0.5)
    async with accounts.database.sessions() as db:
        await throttle.attempt(db, "my password typed as the username", ADDRESS)
        keys = await counted_rows(accounts)
        assert len(keys) == 2
        assert not [key for key in keys if "password" in key or ADDRESS in key]
        plain = hashlib.sha256(b"my password typed as the username").hexdigest()
        assert not [key for key in keys if plain in key]  # keyed: a dump alone cannot test guesses against it
        await asyncio.sleep(0.6)  # both rows leave the window; the next attempt deletes them
        await throttle.attempt(db, "alice", "192.0.2.2")
    assert len(await counted_rows(accounts)) == 2


def test_replicas_share_one_limit(settings: Settings) -> None:
    limit = settings.login_failures_per_username
    with serving(create_app(settings)) as one, serving(create_app(settings)) as two:
        replicas = [httpx2.Client(base_url=url) for url in (one, two)]
        statuses = [replicas[number % 2].post("/token", data=WRONG).status_code for number in range(limit + 2)]
        for replica in replicas:
            replica.close()
    assert statuses == [400] * limit + [429, 429]


def test_guesses_sent_at_once_to_two_replicas_are_held_to_the_limit(settings: Settings) -> None:
    limit = settings.login_failures_per_username

    async def burst(urls: tuple[str, str]) -> list[int]:
        clients = [httpx2.AsyncClient(base_url=url, timeout=60) for url in urls]
        try:
            guesses = [{**WRONG, "password": f"guess {number}"} for number in range(4 * limit)]
            answers = await asyncio.gather(
                *(clients[number % 2].post("/token", data=guess) for number, guess in enumerate(guesses))
            )
        finally:
            for client in clients:
                await client.aclose()
        return [answer.status_code for answer in answers]

    with serving(create_app(settings)) as one, serving(create_app(settings)) as two:
        statuses = asyncio.run(burst((one, two)))
    assert statuses.count(400) == limit, statuses  # every guess past the limit was refused before its check
    assert set(statuses) == {400, 429}
