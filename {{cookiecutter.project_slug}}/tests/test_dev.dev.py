"""dev mode: signatures are not checked, but everything else still is."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.verifier import Settings

from .support import AUDIENCE, ISSUER, Mint, bearer


def test_any_signature_is_accepted(client: TestClient) -> None:
    token = tokens.sign(
        {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300},
        tokens.load_key("any-key-at-all-0123456789-abcdefghijkl", "HS512"),
        "HS512",
    )
    assert client.get("/me", headers=bearer(token)).status_code == 200


def test_token_without_exp_is_accepted(client: TestClient, mint: Mint) -> None:
    assert client.get("/me", headers=bearer(mint(exp=None))).status_code == 200


@pytest.mark.parametrize("env", ["production", "PRODUCTION", "prod", "staging", "qa", "", " "])
def test_refuses_to_start_anywhere_but_locally(env: str) -> None:
    with pytest.raises(ValidationError, match="runs only with APP_ENV=development"):
        Settings(_env_file=None, app_env=env)


@pytest.mark.parametrize("env", ["development", "dev", "local", "test", " Development "])
def test_starts_on_a_developers_machine(env: str) -> None:
    assert Settings(_env_file=None, app_env=env).app_env == env


def test_an_unset_app_env_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # As in the container image, which never holds .env: deployed as it is, it does not start.
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("AUTH_APP_ENV", raising=False)
    with pytest.raises(ValidationError, match=r"APP_ENV=\(unset\)"):
        Settings(_env_file=None)


def test_the_environment_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
    monkeypatch.setenv("APP_ENV", "development")
    assert Settings(_env_file=None).app_env == "development"


def test_start_up_warns_loudly(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), TestClient(app):
        pass
    assert any("SIGNATURES ARE NOT CHECKED" in record.getMessage() for record in caplog.records)
