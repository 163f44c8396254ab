"""Authorization decisions are logged with a reason code and, once verified, ``sub``: never a token or secret."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from {{ cookiecutter.package_name }}.verifier import Settings

from .support import AppFactory, Mint, Signer, access_claims, bearer, signed

LOGGER = "{{ cookiecutter.package_name }}.dependency"


def decisions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


def fields(record: logging.LogRecord) -> tuple[object, ...]:
    """The structured fields a JSON log formatter would pick up."""
    return tuple(vars(record)[name] for name in ("auth_decision", "auth_reason", "auth_sub"))


def test_denial_is_logged_at_info_with_its_reason_code(
    client: TestClient, mint: Mint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client.get("/me", headers=bearer(mint(exp=int(time.time()) - 3600)))
    [record] = decisions(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage() == "auth denied reason=expired sub=null"
    assert fields(record) == ("denied", "expired", None)


@pytest.mark.parametrize(
    ("reason", "claims"),
    [
        ("lifetime_too_long", {"exp": 2**31}),
        ("id_token", {"at_hash": "x"}),
    ],
)
def test_refusals_of_a_kind_of_token_are_logged_with_their_reason(
    client: TestClient, mint: Mint, caplog: pytest.LogCaptureFixture, reason: str, claims: dict[str, object]
) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert client.get("/me", headers=bearer(mint(**claims))).status_code == 401
    [record] = decisions(caplog)
    assert fields(record) == ("denied", reason, None)


def test_refused_typ_is_logged_with_its_reason(
    client: TestClient, settings: Settings, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        token = signed(signer, access_claims(settings), typ="dpop+jwt")
        assert client.get("/me", headers=bearer(token)).status_code == 401
    [record] = decisions(caplog)
    assert fields(record) == ("denied", "typ_not_allowed", None)


def test_missing_token_is_logged_as_such(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client.get("/me")
    [record] = decisions(caplog)
    assert (record.levelno, fields(record)) == (logging.INFO, ("denied", "missing_token", None))


def test_grant_is_logged_at_debug_with_sub(client: TestClient, mint: Mint, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert client.get("/hello", params={"name": "X"}, headers=bearer(mint(sub="bob"))).status_code == 200
    [record] = decisions(caplog)
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == 'auth granted reason=valid_token sub="bob"'


def test_missing_scope_is_logged_with_the_verified_sub(
    client: TestClient, mint: Mint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert client.get("/items", headers=bearer(mint(sub="carol", scopes="other"))).status_code == 403
    [record] = decisions(caplog)
    assert (record.levelno, fields(record)) == (logging.INFO, ("denied", "insufficient_scope", "carol"))


def test_a_sub_cannot_forge_a_log_line(client: TestClient, mint: Mint, caplog: pytest.LogCaptureFixture) -> None:
    sub = 'mallory\nauth granted reason=valid_token sub="admin"'
    with caplog.at_level(logging.INFO, logger=LOGGER):
        client.get("/items", headers=bearer(mint(sub=sub, scopes="")))
    [record] = decisions(caplog)
    assert "\n" not in record.getMessage()
    assert record.getMessage().endswith(r'sub="mallory\nauth granted reason=valid_token sub=\"admin\""')


def test_identical_denials_are_logged_once_per_interval_with_a_count(
    make_app: AppFactory, mint: Mint, caplog: pytest.LogCaptureFixture
) -> None:
    interval = 0.5
    app = make_app(log_repeat_seconds=interval)
    expired = mint(exp=int(time.time()) - 3600)
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger=LOGGER):
        started = time.monotonic()
        for _ in range(200):
            assert client.get("/me", headers=bearer(expired)).status_code == 401
        assert client.get("/me").status_code == 401  # another failure: logged at once
        elapsed = time.monotonic() - started
        time.sleep(interval)
        assert client.get("/me", headers=bearer(expired)).status_code == 401
    expired_lines = [record for record in decisions(caplog) if vars(record)["auth_reason"] == "expired"]
    assert expired_lines[0].getMessage() == "auth denied reason=expired sub=null"
    assert len(expired_lines) <= 2 + elapsed / interval
    assert len(expired_lines) + sum(vars(record)["auth_repeated"] for record in expired_lines) == 201
    assert [fields(record) for record in decisions(caplog)].count(("denied", "missing_token", None)) == 1


def test_a_repeat_interval_of_zero_logs_every_failure(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(log_repeat_seconds=0)
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(5):
            client.get("/me")
    assert [record.getMessage() for record in decisions(caplog)] == ["auth denied reason=missing_token sub=null"] * 5


def valid(mint: Mint) -> str:
    return mint()


def expired(mint: Mint) -> str:
    return mint(exp=int(time.time()) - 3600)


def forged(mint: Mint) -> str:
    header, claims, signature = mint(sub="admin").split(".")
    return f"{header}.{claims}.{signature[::-1]}"


def oversized(mint: Mint) -> str:
    return mint(note="x" * 10_000)


def malformed(mint: Mint) -> str:
    return mint().replace(".", "..", 1)


@pytest.mark.parametrize("make", [valid, expired, forged, oversized, malformed])
def test_tokens_and_secrets_never_reach_logs_or_bodies(
    client: TestClient, mint: Mint, settings: Settings, caplog: pytest.LogCaptureFixture, make: Callable[[Mint], str]
) -> None:
    token = make(mint)
    with caplog.at_level(logging.DEBUG):  # every logger, ours and the libraries'
        response = client.get("/me", headers=bearer(token))
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    secrets = [value.get_secret_value() for value in vars(settings).values() if isinstance(value, SecretStr)]
    for needle in (token, token.split(".")[-1], *secrets):
        assert needle not in logged
        assert needle not in response.text
