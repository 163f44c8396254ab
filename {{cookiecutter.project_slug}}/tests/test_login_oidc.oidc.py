"""OIDC login over real HTTP: this service on uvicorn, the npm ``oidc-provider`` as the upstream provider.

Each test runs the service on the port its redirect URI names, and logs in the
way a browser does: ``GET /login``, the provider's own login and consent pages,
then back to ``/authorize`` with the cookie ``/login`` set.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import text

from {{ cookiecutter.package_name }}.db import create_engine
from {{ cookiecutter.package_name }}.oidc_settings import Settings

from .browser import chromium
from .fixtures import BACKENDS
from .login_fixtures import logging_in_at
from .support import AppFactory, bearer, free_port, serving
from .upstream import Client, ProviderConfig, UpstreamProvider, log_in_at_provider, log_in_over_http, running_provider

PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"
REDIRECT_URI = f"{BASE}/authorize"
FRONT_END = f"{BASE}/signed-in"  # a front-end page that posts code and state to POST /authorize
SECRET, POST_SECRET = "svc-client-secret-0123456789abcdef", "svc-post-secret-0123456789abcdef"
CLIENT = Client("svc", [REDIRECT_URI, FRONT_END], client_secret=SECRET)
POST_CLIENT = Client("svc-post", [REDIRECT_URI], client_secret=POST_SECRET, auth_method="client_secret_post")
UNVERIFIED = {"dora": {"email_verified": False}}


# The flows that write to the database run on SQLite and on PostgreSQL; the rest on SQLite.
ON_BOTH_DATABASES = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture(scope="module")
def provider() -> Iterator[UpstreamProvider]:
    with running_provider(ProviderConfig(clients=[CLIENT, POST_CLIENT], users=UNVERIFIED)) as running:
        yield running


@pytest.fixture
def login_settings(provider: UpstreamProvider) -> dict[str, Any]:
    """The settings of every test here log in at ``provider`` as ``CLIENT``."""
    return logging_in_at(provider, CLIENT, REDIRECT_URI)


@pytest.fixture
def service(app: FastAPI) -> Iterator[str]:
    with serving(app, port=PORT) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[httpx2.Client]:
    """An HTTP client with a cookie jar, as a browser has."""
    with httpx2.Client(timeout=10) as http:
        yield http


def at_provider(http: httpx2.Client, base: str, username: str = "alice", redirect_uri: str = REDIRECT_URI) -> str:
    """Start a login and sign in at the provider; the URL it sends the browser back to."""
    login = http.get(f"{base}/login")
    assert login.status_code == 200, login.text
    return log_in_over_http(http, login.json()["url"], redirect_uri, username)


def code_and_state(url: str) -> dict[str, str]:
    query = parse_qs(urlsplit(url).query)
    return {"code": query["code"][0], "state": query["state"][0]}


def run_sql(settings: Settings, statement: str, **params: Any) -> list[dict[str, Any]]:
    """Read or change the service's database behind its back."""

    async def run() -> list[dict[str, Any]]:
        engine = create_engine(settings.database_url.get_secret_value(), timeout=5)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return [dict(row) for row in result.mappings()] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def linked_user(settings: Settings, access_token: str) -> dict[str, Any]:
    """The user an access token names (``sub``), with the provider account linked to it."""
    payload = access_token.split(".")[1]
    sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    (row,) = run_sql(
        settings,
        "SELECT u.id, u.email, u.scopes, i.issuer, i.subject, i.name FROM users u"
        " JOIN external_identities i ON i.user_id = u.id WHERE u.id = :id",
        id=sub,
    )
    return row


def assert_oauth_error(response: httpx2.Response, status: int, error: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert response.headers["cache-control"] == "no-store"


def test_login_url_asks_for_a_code_with_pkce_and_binds_the_browser(service: str, browser: httpx2.Client) -> None:
    response = browser.get(f"{service}/login")
    query = parse_qs(urlsplit(response.json()["url"]).query)
    assert response.status_code == 200
    assert {name: values[0] for name, values in query.items() if name not in ("state", "nonce", "code_challenge")} == {
        "response_type": "code",
        "client_id": CLIENT.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "code_challenge_method": "S256",
    }
    assert min(len(query["state"][0]), len(query["nonce"][0]), len(query["code_challenge"][0])) >= 43
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("login_binding=")
    assert all(part in cookie for part in ("httponly", "samesite=lax", "max-age=600", "path=/"))
    assert "secure" not in cookie  # loopback over http; Secure (and the __Host- prefix) elsewhere
    assert response.headers["cache-control"] == "no-store"


@ON_BOTH_DATABASES
def test_round_trip_gives_the_service_tokens_for_the_provider_user(
    service: str, browser: httpx2.Client, settings: Settings
) -> None:
    response = browser.get(at_provider(browser, service, "alice"))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    assert "login_binding=" in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()  # the binding is spent
    user = linked_user(settings, tokens["access_token"])
    assert (user["issuer"], user["subject"]) == (settings.login_issuer, "alice")
    assert (user["email"], user["name"]) == ("alice@example.test", "alice")
    me = httpx2.get(f"{service}/me", headers=bearer(tokens["access_token"]))
    assert (me.status_code, me.json()["id"], me.json()["email"]) == (200, user["id"], "alice@example.test")
    refreshed = httpx2.post(
        f"{service}/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text


@ON_BOTH_DATABASES
def test_the_same_provider_user_is_the_same_user_with_the_new_user_scopes(
    make_app: AppFactory, browser: httpx2.Client, settings: Settings
) -> None:
    with serving(make_app(login_new_user_scopes=("items:read",)), port=PORT) as base:
        first = browser.get(at_provider(browser, base, "erin")).json()
        second = browser.get(at_provider(browser, base, "erin")).json()
        with httpx2.Client() as another_browser:  # the first is signed in at the provider, as erin
            other = another_browser.get(at_provider(another_browser, base, "frank")).json()
        items = httpx2.get(f"{base}/items", headers=bearer(first["access_token"]))
    users = [linked_user(settings, tokens["access_token"]) for tokens in (first, second, other)]
    assert users[0]["id"] == users[1]["id"] != users[2]["id"]
    assert [user["subject"] for user in users] == ["erin", "erin", "frank"]
    assert (first["scope"], users[0]["scopes"]) == ("items:read", "items:read")
    assert items.status_code == 200


@ON_BOTH_DATABASES
def test_a_front_end_page_posts_code_and_state(make_app: AppFactory, browser: httpx2.Client) -> None:
    with serving(make_app(login_redirect_uri=FRONT_END), port=PORT) as base:
        back = at_provider(browser, base, "alice", redirect_uri=FRONT_END)
        response = browser.post(f"{base}/authorize", json=code_and_state(back))
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


@ON_BOTH_DATABASES
def test_a_replayed_state_is_refused(service: str, browser: httpx2.Client) -> None:
    back = at_provider(browser, service)
    binding = {"login_binding": browser.cookies.get("login_binding", path="/") or ""}
    assert browser.get(back).status_code == 200
    replayed = httpx2.get(back, cookies=binding)
    assert_oauth_error(replayed, 400, "invalid_request")


@ON_BOTH_DATABASES
def test_code_and_state_without_the_browsers_cookie_are_refused(
    service: str, browser: httpx2.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Login CSRF: a victim's browser is sent the attacker's code and state, without the attacker's cookie."""
    back = at_provider(browser, service)
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.package_name }}.oauth_errors"):
        assert_oauth_error(httpx2.get(back), 400, "invalid_request")
    assert "reason=binding_cookie_missing" in caplog.text
    with httpx2.Client() as other_browser:
        other_browser.get(f"{service}/login")  # a binding of its own, for another login
        assert_oauth_error(other_browser.get(back), 400, "invalid_request")
    # The forgeries did not spend the login of the browser that started it.
    assert browser.get(back).status_code == 200


@ON_BOTH_DATABASES
def test_an_expired_login_is_refused(service: str, browser: httpx2.Client, settings: Settings) -> None:
    back = at_provider(browser, service)
    run_sql(settings, "UPDATE login_transactions SET expires_at = :now", now=int(time.time()))
    assert_oauth_error(browser.get(back), 400, "invalid_request")


@ON_BOTH_DATABASES
def test_an_id_token_with_another_nonce_is_refused(service: str, browser: httpx2.Client, settings: Settings) -> None:
    back = at_provider(browser, service)
    run_sql(settings, "UPDATE login_transactions SET nonce = 'not-the-nonce-the-provider-saw'")
    assert_oauth_error(browser.get(back), 400, "invalid_grant")


def test_a_code_the_provider_refuses_is_invalid_grant(service: str, browser: httpx2.Client) -> None:
    back = at_provider(browser, service)
    forged = browser.get(f"{service}/authorize", params={**code_and_state(back), "code": "not-a-code"})
    assert_oauth_error(forged, 400, "invalid_grant")


@ON_BOTH_DATABASES
def test_the_providers_error_is_passed_on_and_spends_the_login(service: str, browser: httpx2.Client) -> None:
    login = browser.get(f"{service}/login")
    back = log_in_over_http(browser, login.json()["url"], REDIRECT_URI, "alice", cancel=True)
    assert_oauth_error(browser.get(back), 400, "access_denied")
    state = parse_qs(urlsplit(back).query)["state"][0]
    again = browser.post(f"{service}/authorize", json={"code": "any", "state": state})
    assert_oauth_error(again, 400, "invalid_request")


def test_an_error_that_is_no_oauth_error_code_is_not_reflected(service: str, browser: httpx2.Client) -> None:
    for error in ("<script>alert(1)</script>", "x" * 100, 'quote"', "access_denied\r\nSet-Cookie: x=y"):
        assert_oauth_error(browser.get(f"{service}/authorize", params={"error": error}), 400, "invalid_request")


MALFORMED: list[dict[str, Any]] = [
    {"method": "GET", "url": "/authorize"},
    {"method": "GET", "url": "/authorize?code=a"},
    {"method": "GET", "url": "/authorize?code=a&state=" + "s" * 3000},
    {"method": "GET", "url": "/authorize?code=a&state=%ff%fe"},
    {"method": "POST", "url": "/authorize", "json": {"code": "a"}},
    {"method": "POST", "url": "/authorize", "json": {"code": 1, "state": ["b"]}},
    {"method": "POST", "url": "/authorize", "json": ["code", "state"]},
    {"method": "POST", "url": "/authorize", "json": {"code": "a", "state": "s" * 3000}},
    {"method": "POST", "url": "/authorize", "content": b"\xff\xfe{"},
    {"method": "POST", "url": "/authorize", "content": b"[" * 4000},
    {"method": "POST", "url": "/authorize", "data": {"code": "a", "state": "b"}},
    {"method": "POST", "url": "/authorize", "json": {"code": "a", "state": "' OR 1=1 --"}},
]


def test_malformed_authorize_requests_are_invalid_request(service: str, browser: httpx2.Client) -> None:
    browser.get(f"{service}/login")
    for case in MALFORMED:
        response = browser.request(
            case["method"], service + case["url"], **{k: v for k, v in case.items() if k not in ("method", "url")}
        )
        assert (response.status_code, response.json().get("error")) == (400, "invalid_request"), case


@ON_BOTH_DATABASES
def test_a_state_no_login_could_have_is_invalid_request_on_every_database(service: str, browser: httpx2.Client) -> None:
    # PostgreSQL cannot even compare a NUL: the spelling is refused before any query.
    browser.get(f"{service}/login")
    for state in ("\u0000", "a\u0000b", "é", "a b"):
        redirected = browser.get(f"{service}/authorize", params={"code": "x", "state": state})
        assert_oauth_error(redirected, 400, "invalid_request")
        posted = browser.post(f"{service}/authorize", json={"code": "x", "state": state})
        assert_oauth_error(posted, 400, "invalid_request")
        with_error = browser.get(f"{service}/authorize", params={"error": "access_denied", "state": state})
        assert with_error.status_code == 400


def test_a_posted_code_or_state_given_twice_is_refused_and_spends_nothing(
    make_app: AppFactory, browser: httpx2.Client
) -> None:
    with serving(make_app(login_redirect_uri=FRONT_END), port=PORT) as base:
        real = code_and_state(at_provider(browser, base, redirect_uri=FRONT_END))
        code, state = json.dumps(real["code"]), json.dumps(real["state"])
        doubled = '{"code":"junk","state":"junk","code":' + code + ',"state":' + state + "}"
        refused = browser.post(f"{base}/authorize", content=doubled, headers={"content-type": "application/json"})
        assert_oauth_error(refused, 400, "invalid_request")
        assert browser.post(f"{base}/authorize", json=real).status_code == 200


def test_a_body_over_the_cap_is_413(service: str, browser: httpx2.Client) -> None:
    too_large = {"code": "c" * 2000, "state": "s" * 2000, "padding": "p" * 1000}
    assert_oauth_error(browser.post(f"{service}/authorize", json=too_large), 413, "invalid_request")


def test_a_repeated_state_is_refused_even_when_it_is_the_real_one(service: str, browser: httpx2.Client) -> None:
    query = code_and_state(at_provider(browser, service))
    doubled = f"{service}/authorize?code={query['code']}&state={query['state']}&state={query['state']}"
    assert_oauth_error(browser.get(doubled), 400, "invalid_request")
    assert browser.get(f"{service}/authorize", params=query).status_code == 200  # the refusal did not spend it


def test_an_unverified_email_is_not_taken(service: str, browser: httpx2.Client, settings: Settings) -> None:
    tokens = browser.get(at_provider(browser, service, "dora")).json()
    user = linked_user(settings, tokens["access_token"])
    assert (user["subject"], user["email"]) == ("dora", None)


@ON_BOTH_DATABASES
def test_a_disabled_user_cannot_log_in(service: str, browser: httpx2.Client, settings: Settings) -> None:
    assert browser.get(at_provider(browser, service, "gina")).status_code == 200
    run_sql(settings, "UPDATE users SET disabled = :yes", yes=True)
    assert_oauth_error(browser.get(at_provider(browser, service, "gina")), 400, "invalid_grant")


def test_a_wrong_client_secret_is_invalid_grant(make_app: AppFactory, browser: httpx2.Client) -> None:
    with serving(make_app(login_client_secret=SecretStr("wrong-secret-0123456789abcdef")), port=PORT) as base:
        assert_oauth_error(browser.get(at_provider(browser, base)), 400, "invalid_grant")


def test_client_secret_post_logs_in(make_app: AppFactory, browser: httpx2.Client) -> None:
    app = make_app(
        login_client_id=POST_CLIENT.client_id,
        login_client_secret=SecretStr(POST_SECRET),
        login_client_auth="client_secret_post",
    )
    with serving(app, port=PORT) as base:
        assert browser.get(at_provider(browser, base)).status_code == 200


def test_provider_down_at_login_is_503_with_retry_after(
    app: FastAPI, provider: UpstreamProvider, browser: httpx2.Client
) -> None:
    with provider.stopped(), serving(app, port=PORT) as base:
        response = browser.get(f"{base}/login")
    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_provider_down_or_hanging_at_authorize_is_503_with_retry_after(
    service: str, provider: UpstreamProvider, browser: httpx2.Client, outage: str
) -> None:
    """Stopped: connections refused. Paused: accepted and never answered, until the 3 s deadline."""
    back = at_provider(browser, service)
    started = time.monotonic()
    with getattr(provider, outage)():
        response = browser.get(back)
    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert time.monotonic() - started < 8


def test_logins_go_on_after_the_provider_rotates_its_keys_and_algorithm(
    service: str, provider: UpstreamProvider, browser: httpx2.Client
) -> None:
    """Each restart is a new key (and here a new ID token algorithm) under the same issuer, mid-service."""
    assert browser.get(at_provider(browser, service, "hal")).status_code == 200
    statuses = {}
    try:
        for alg in ("ES256", "PS256", "EdDSA"):
            provider.restart(algs=(alg,))
            with httpx2.Client(timeout=10) as fresh_browser:  # signed in at the provider before its restart
                response = fresh_browser.get(at_provider(fresh_browser, service, "hal"))
            statuses[alg] = response.status_code
    finally:
        provider.restart(algs=("RS256",))
    assert statuses == {"ES256": 200, "PS256": 200, "EdDSA": 200}


def test_a_browser_logs_in_at_the_provider_and_comes_back_with_tokens(service: str) -> None:
    """Headless Chromium: GET /login, the provider's login page, its redirect to GET /authorize."""
    with chromium() as driver:
        driver.get(f"{service}/login")
        driver.get(json.loads(driver.find_element(By.TAG_NAME, "pre").text)["url"])
        log_in_at_provider(driver, "ivy")
        WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(REDIRECT_URI))
        tokens = json.loads(driver.find_element(By.TAG_NAME, "pre").text)
    me = httpx2.get(f"{service}/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "ivy@example.test"
