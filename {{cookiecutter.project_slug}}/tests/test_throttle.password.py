"""The failed-login throttle: what counts as a guess, and what does not."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from {{ cookiecutter.package_name }}.password_login import password_grant
from {{ cookiecutter.package_name }}.throttle import LoginThrottle

ADDRESS = "192.0.2.1"


class AwayDatabase:
    """A database session whose every query fails as an outage does."""

    async def scalar(self, *_: object) -> None:
        raise OperationalError("SELECT", {}, ConnectionRefusedError())


def test_a_login_the_database_could_not_answer_is_not_counted_as_a_guess() -> None:
    throttle = LoginThrottle(per_username=2, per_address=2, window=300)
    app = FastAPI()
    app.state.login_throttle = throttle
    app.state.accounts = None  # never reached: the lookup fails first
    request = Request({"type": "http", "app": app, "client": (ADDRESS, 1), "headers": []})
    form = {"grant_type": "password", "username": "alice", "password": "correct horse battery staple"}
    for _ in range(5):  # a client retrying through an outage: each one a 503, none a guess
        with pytest.raises(OperationalError):
            asyncio.run(password_grant(request, form, cast(AsyncSession, AwayDatabase())))
    assert throttle.retry_after("alice", ADDRESS) is None


def test_attempts_in_flight_count_and_a_success_takes_its_own_back() -> None:
    throttle = LoginThrottle(per_username=2, per_address=3, window=300)
    first = throttle.attempt("alice", ADDRESS)
    throttle.attempt("alice", ADDRESS)
    assert throttle.retry_after("alice", ADDRESS) is not None  # two in flight: the limit
    throttle.succeeded("alice", ADDRESS, first)
    assert throttle.retry_after("alice", ADDRESS) is None
    assert throttle.retry_after("bob", ADDRESS) is None  # the address keeps one of three
