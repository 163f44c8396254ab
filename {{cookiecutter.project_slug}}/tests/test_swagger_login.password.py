"""In headless Chromium, /docs logs in with a username and password (OAuth2 password flow) and calls the API.

The user is created with the users CLI, as an operator would; Swagger UI's Authorize dialog posts the
username and password to ``POST /token`` and sends the access token it gets to the routes tried out.
Nothing but 127.0.0.1 resolves in this browser, so the page needs no CDN either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.route_scopes import required_scopes

from .browser import chromium
from .live import environment, run_module
from .support import serving
from .swagger_page import SwaggerPage

PASSWORD = "correct horse battery staple"


@pytest.fixture
def service(settings: Settings) -> Iterator[str]:
    """The service, with one user made by ``users create``; yields its base URL."""
    create = ("create", "alice", "--scope", "items:read", "--password-stdin")
    created = run_module("users", *create, env=environment(settings), stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    with serving(create_app(settings)) as base_url:
        yield base_url


def test_docs_log_in_with_a_username_and_password_then_call_the_api(service: str, settings: Settings) -> None:
    needed = required_scopes(create_app(settings))
    with chromium() as browser:
        page = SwaggerPage(browser, f"{service}/docs")
        before = page.execute("me", "read_me_me_get")
        login = page.scheme(page.open_authorize_dialog(), "PasswordLogin")
        scopes, labels = page.scopes(login), page.shown_labels(login)
        refused = page.refused_password_login(login, "alice", "not the password")
        page.log_in_with_password(login, "alice", PASSWORD)
        me_status, me_body = page.execute("me", "read_me_me_get")
        items_status, items_body = page.execute("items", "list_items_items_get")
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")

    assert before[0] == 401
    assert {"username:", "password:"} <= set(labels)
    # The password grant authenticates no client: no secret field to show "******" after the login.
    assert "client_secret:" not in labels
    # The scopes the routes require, each described by the routes that need it; none asked means all.
    assert needed["items:read"] == ["GET /items"]
    assert scopes == [(scope, "needed by " + ", ".join(routes)) for scope, routes in needed.items()]
    # The RFC 6749 §5.2 error of POST /token, as the dialog shows it.
    assert "invalid_grant" in refused
    assert me_status == 200
    me = json.loads(me_body)
    assert (me["username"], me["scopes"], me["disabled"]) == ("alice", ["items:read"], False)
    assert "password" not in me_body
    assert (items_status, json.loads(items_body)[0]["name"]) == (200, "hammer")
    assert {urlsplit(url).netloc for url in loaded} == {urlsplit(service).netloc}
