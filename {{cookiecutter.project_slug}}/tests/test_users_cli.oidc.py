"""The users CLI of an oidc login: ``python -m {{ cookiecutter.package_name }}.users``.

Users come from logins at a real provider on 127.0.0.1 (the npm ``oidc-provider``);
the CLI lists them and disables, enables, revokes or sets the scopes of one,
named by its id or by the email the provider verified.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.oidc_settings import Settings

from .fixtures import BACKENDS
from .live import Cli
from .login_fixtures import logging_in_at
from .support import bearer, free_port, serving
from .upstream import Client, ProviderConfig, UpstreamProvider, log_in_over_http, running_provider

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

PORT = free_port()
REDIRECT_URI = f"http://127.0.0.1:{PORT}/authorize"
CLIENT = Client("svc", [REDIRECT_URI], client_secret="svc-client-secret-0123456789abcdef")
ALICE = "alice@example.test"


@pytest.fixture(scope="module")
def provider() -> Iterator[UpstreamProvider]:
    # dora's email is not verified: the service keeps none for her, so only her id names her.
    with running_provider(ProviderConfig(clients=[CLIENT], users={"dora": {"email_verified": False}})) as running:
        yield running


@pytest.fixture
def login_settings(provider: UpstreamProvider) -> dict[str, Any]:
    return logging_in_at(provider, CLIENT, REDIRECT_URI)


@pytest.fixture
def service(settings: Settings) -> Iterator[str]:
    fast = settings.model_copy(update={"revocation_poll_seconds": 0.2})
    with serving(create_app(fast), port=PORT) as base:
        yield base


def log_in(service: str, username: str = "alice") -> httpx2.Response:
    """A whole login at the provider, as a browser makes it; the service's token response."""
    with httpx2.Client(timeout=10) as browser:
        started = browser.get(f"{service}/login")
        assert started.status_code == 200, started.text
        return browser.get(log_in_over_http(browser, started.json()["url"], REDIRECT_URI, username))


def listed(cli: Cli) -> list[dict[str, Any]]:
    status, out, _ = cli("list", "--json")
    assert status == 0
    assert "hash" not in out
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_list_shows_who_logged_in(cli: Cli, service: str) -> None:
    for username in ("alice", "dora"):
        assert log_in(service, username).status_code == 200
    alice, dora = listed(cli)
    assert (alice["email"], alice["username"], alice["scopes"], alice["disabled"]) == (ALICE, None, [], False)
    assert dora["email"] is None
    status, out, _ = cli("list")
    assert status == 0
    assert ALICE in out
    assert dora["id"] in out


@pytest.mark.parametrize("command", ["disable", "revoke"])
def test_disable_and_revoke_by_email_end_every_session_soon(cli: Cli, service: str, command: str) -> None:
    tokens = log_in(service).json()
    assert httpx2.get(f"{service}/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert cli(command, ALICE)[:2] == (0, f"{command}: {ALICE}\n")
    deadline = time.monotonic() + 5
    while httpx2.get(f"{service}/me", headers=bearer(tokens["access_token"])).status_code == 200:
        assert time.monotonic() < deadline, "the running service still accepts the token after 5 s"
        time.sleep(0.05)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert httpx2.post(f"{service}/token", data=refresh).json()["error"] == "invalid_grant"
    assert log_in(service).status_code == (400 if command == "disable" else 200)


def test_enable_lets_a_disabled_user_log_in_again(cli: Cli, service: str) -> None:
    assert log_in(service).status_code == 200
    assert cli("disable", ALICE)[0] == 0
    assert log_in(service).json()["error"] == "invalid_grant"
    assert cli("enable", ALICE)[0] == 0
    assert log_in(service).status_code == 200


def test_a_user_without_email_is_named_by_id(cli: Cli, service: str) -> None:
    assert log_in(service, "dora").status_code == 200
    [dora] = listed(cli)
    assert cli("set-scopes", dora["id"], "items:read")[0] == 0
    assert log_in(service, "dora").json()["scope"] == "items:read"
    assert cli("revoke", dora["id"])[0] == 0


def test_there_is_no_create_or_password_and_unknown_names_are_refused(cli: Cli, service: str) -> None:
    status, out, _ = cli("--help")
    assert status == 0
    assert "set-scopes" in out
    assert "create" not in out
    assert "set-password" not in out
    assert cli("create", "zoe")[0] == 2
    assert log_in(service).status_code == 200
    status, out, err = cli("disable", "alice")  # the provider's login name is no name of ours
    assert (status, out, err) == (1, "", "error: no user 'alice'\n")
    assert listed(cli)[0]["disabled"] is False
