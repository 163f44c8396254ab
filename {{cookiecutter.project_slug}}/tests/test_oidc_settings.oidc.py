"""The oidc login's settings refuse what would make the login unsafe, with a message that says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.oidc_settings import Settings

ENV_EXAMPLE = Path(__file__).parents[1] / ".env.example"


def with_changes(settings: Settings, **changes: Any) -> Settings:
    return Settings.model_validate({**settings.model_dump(), **changes})


@pytest.mark.parametrize("name", ["AUTH_LOGIN_ISSUER", "AUTH_LOGIN_CLIENT_ID", "AUTH_LOGIN_CLIENT_SECRET"])
def test_the_service_refuses_to_start_until_env_example_names_your_client(settings: Settings, name: str) -> None:
    """The README's promise: each of .env.example's placeholders for the client, left as shipped, is refused."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    shipped = dict(line.split("=", 1) for line in lines if line.startswith("AUTH_LOGIN_"))
    with pytest.raises(ValidationError, match=f"{name} .*(placeholder|example address)"):
        with_changes(settings, **{name.removeprefix("AUTH_").lower(): shipped[name]})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"login_issuer": "http://idp.example.com"}, "must be an https URL"),
        ({"login_issuer": "https://idp.example.com/#x"}, "must not have a #fragment"),
        ({"login_redirect_uri": "http://app.example.com/authorize"}, "must be an https URL"),
        ({"login_client_secret": "change-me"}, "AUTH_LOGIN_CLIENT_SECRET is a placeholder"),
        ({"login_client_id": "change-me"}, "AUTH_LOGIN_CLIENT_ID is a placeholder"),
        ({"login_issuer": "https://login.example.org/tenant"}, "AUTH_LOGIN_ISSUER .* is an example address"),
        ({"login_scopes": "email profile"}, "AUTH_LOGIN_SCOPES must include openid"),
        ({"login_client_auth": "none"}, "client_secret_basic"),
        ({"login_client_id": ""}, "at least 1 character"),
    ],
)
def test_unsafe_login_settings_are_refused(settings: Settings, changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        with_changes(settings, **changes)


@pytest.mark.parametrize(
    ("redirect_uri", "secure"),
    [
        ("http://127.0.0.1:8000/authorize", False),
        ("http://localhost:8000/authorize", False),
        ("https://127.0.0.1:8443/authorize", True),
        ("https://api.example.com/authorize", True),
    ],
)
def test_the_login_cookie_is_secure_except_over_plain_http_on_loopback(
    settings: Settings, redirect_uri: str, secure: bool
) -> None:
    assert with_changes(settings, login_redirect_uri=redirect_uri).login_cookie_secure is secure


def test_scopes_are_space_separated_words(settings: Settings) -> None:
    changed = with_changes(settings, login_scopes="openid  email", login_new_user_scopes="items:read items:write")
    assert changed.login_scopes == ("openid", "email")
    assert changed.login_new_user_scopes == ("items:read", "items:write")
