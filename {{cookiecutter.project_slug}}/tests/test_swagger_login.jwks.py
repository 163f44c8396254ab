"""In headless Chromium, /docs logs in at a real OpenID provider and calls the API with the token.

The provider (npm ``oidc-provider`` on 127.0.0.1) knows the public client that /docs uses, with the
exact redirect URI of the page's origin, and allows that origin on its token endpoint (CORS), as the
README asks of yours. Nothing but 127.0.0.1 resolves in this browser, so the page needs no CDN either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.route_scopes import required_scopes
from {{ cookiecutter.package_name }}.verifier import Settings

from .browser import chromium
from .fixtures import upstream_settings
from .support import AUDIENCE, free_port, serving
from .swagger_page import SwaggerPage
from .upstream import Client, ProviderConfig, log_in_at_provider, running_provider

CLIENT_ID = "swagger-docs"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def service() -> Iterator[tuple[str, str, list[str]]]:
    """The service, logging in at the provider from /docs.

    Yields its base URL, the provider's issuer, and the scopes the app's routes require, which the
    provider grants: a route added with ``Security(has_access, scopes=[...])`` is logged in for too.
    """
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/docs/oauth2-redirect"
    # Only the routes are read here: this app never serves, so its issuer need not answer.
    needed = list(required_scopes(create_app(docs_settings(f"http://127.0.0.1:{port}"))))
    # A public client, as Swagger UI is; access tokens are JWTs for this API.
    config = ProviderConfig(
        clients=[Client(CLIENT_ID, [redirect_uri])], resource=AUDIENCE, audience=AUDIENCE, scopes=" ".join(needed)
    )
    with running_provider(config) as provider, serving(create_app(docs_settings(provider.issuer)), port) as base_url:
        yield base_url, provider.issuer, needed


def docs_settings(issuer: str) -> Settings:
    """Settings whose /docs logs in at ``issuer``."""
    return upstream_settings(issuer, swagger_client_id=CLIENT_ID, swagger_scope_prefix="")


def test_docs_log_in_at_the_provider_with_pkce_then_call_the_api(
    browser: WebDriver, service: tuple[str, str, list[str]]
) -> None:
    base_url, issuer, needed = service
    page = SwaggerPage(browser, f"{base_url}/docs")
    before = page.execute("me", "read_me_me_get")
    login = page.scheme(page.open_authorize_dialog(), "ProviderLogin")
    scopes, labels = page.scopes(login), page.shown_labels(login)
    page.log_in_with_code_flow(login, lambda popup: log_in_at_provider(popup, "carol"))
    me_status, me_body = page.execute("me", "read_me_me_get")
    items_status, items_body = page.execute("items", "list_items_items_get")
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")

    assert before[0] == 401
    # The scopes default to openid and those the routes require, each described, not named twice.
    assert "items:read" in needed
    assert [name for name, _ in scopes] == ["openid", *needed]
    assert all(description and description != name for name, description in scopes)
    # A public client: no secret field to show "******" after the login.
    assert "client_id:" in labels
    assert "client_secret:" not in labels
    assert (me_status, json.loads(me_body)["sub"]) == (200, "carol")
    assert (items_status, json.loads(items_body)[0]["name"]) == (200, "hammer")
    assert {urlsplit(url).netloc for url in loaded} <= {urlsplit(base_url).netloc, urlsplit(issuer).netloc}
