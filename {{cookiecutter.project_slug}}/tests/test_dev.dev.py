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


@pytest.mark.parametrize("env", ["production", "PRODUCTION", "prod"])
def test_refuses_to_start_in_production(env: str) -> None:
    with pytest.raises(ValidationError, match="never run with APP_ENV=production"):
        Settings(_env_file=None, app_env=env)


def test_production_env_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_start_up_warns_loudly(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), TestClient(app):
        pass
    assert any("SIGNATURES ARE NOT CHECKED" in record.getMessage() for record in caplog.records)
