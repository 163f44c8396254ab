"""Password logins over real HTTP: POST /token (password and refresh_token grants), /me, POST /logout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from {{ cookiecutter.package_name }} import passwords, tokens
from {{ cookiecutter.package_name }}.access_tokens import AccessTokenSigner
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.mint import build_claims
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.route_scopes import required_scopes
from {{ cookiecutter.package_name }}.verifier import ALGORITHM, signing_key

from .fixtures import BACKENDS
from .live import add_user, stored_user
from .support import bearer, serving

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

PASSWORD = "correct horse battery staple"
GENERIC_FAILURE = {"error": "invalid_grant", "error_description": "The credentials or the refresh token are not valid."}


@pytest.fixture(scope="session")
def password_hash() -> str:
    return asyncio.run(passwords.hash_password(PASSWORD))


@dataclass
class Service:
    http: httpx2.Client
    settings: Settings
    user_id: str

    def login(self, username: str = "alice", password: str = PASSWORD, **fields: str) -> httpx2.Response:
        return self.http.post(
            "/token", data={"grant_type": "password", "username": username, "password": password, **fields}
        )

    def refresh(self, refresh_token: str) -> httpx2.Response:
        return self.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token})


@pytest.fixture
def service(settings: Settings, password_hash: str) -> Iterator[Service]:
    user_id = add_user(settings, "alice", password_hash=password_hash, scopes="items:read profile")
    with serving(create_app(settings)) as base_url, httpx2.Client(base_url=base_url) as http:
        yield Service(http, settings, user_id)


def test_password_grant_issues_an_rfc6749_token_response(service: Service) -> None:
    response = service.login()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("bearer", 900, "items:read profile")
    me = service.http.get("/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    expected = {"id": service.user_id, "username": "alice", "email": None, "disabled": False}
    assert me.json() == {**expected, "scopes": ["items:read", "profile"]}
    assert "password_hash" not in me.text
    assert service.http.get("/items", headers=bearer(body["access_token"])).status_code == 200


def test_asking_for_fewer_scopes_narrows_the_token_and_more_is_invalid_scope(service: Service) -> None:
    narrowed = service.login(scope="profile").json()
    assert narrowed["scope"] == "profile"
    assert service.http.get("/items", headers=bearer(narrowed["access_token"])).status_code == 403
    refused = service.login(scope="profile admin")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password!"), ("nobody", PASSWORD), ("ALICE", PASSWORD)]
)
def test_wrong_username_or_password_get_the_same_invalid_grant(service: Service, username: str, password: str) -> None:
    response = service.login(username, password)
    assert (response.status_code, response.json()) == (400, GENERIC_FAILURE)
    assert response.headers["cache-control"] == "no-store"


def test_an_unknown_username_costs_a_hash_like_a_wrong_password(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    verify = passwords.hasher.verify_and_update

    def counting(password: str | bytes, hash: str | bytes) -> tuple[bool, str | None]:
        checked.append(str(hash))
        return verify(password, hash)

    monkeypatch.setattr(passwords.hasher, "verify_and_update", counting)
    service.login("nobody", PASSWORD)
    service.login("alice", "wrong password!")
    assert len(checked) == 2
    assert all(hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for hash in checked)


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(service: Service) -> None:
    first = service.login().json()
    second = service.refresh(first["refresh_token"])
    assert second.status_code == 200
    assert second.headers["cache-control"] == "no-store"
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = service.refresh(first["refresh_token"])
    assert (reused.status_code, reused.json()) == (400, GENERIC_FAILURE)
    assert service.refresh(second.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert service.http.get("/me", headers=bearer(second.json()["access_token"])).status_code == 401


def test_logout_refuses_the_access_token_everywhere_and_ends_the_session(service: Service) -> None:
    tokens = service.login().json()
    access = bearer(tokens["access_token"])
    assert service.http.get("/hello", params={"name": "X"}, headers=access).status_code == 200  # now cached
    logout = service.http.post("/logout", headers=access)
    assert logout.status_code == 204
    for path in ("/hello?name=X", "/me", "/items"):
        response = service.http.get(path, headers=access)
        assert (response.status_code, response.headers["www-authenticate"]) == (401, 'Bearer error="invalid_token"')
    assert service.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert service.http.post("/logout", headers=access).status_code == 401
    # The deny-list is in the database: a restarted service still refuses the token.
    with serving(create_app(service.settings)) as base_url:
        assert httpx2.get(f"{base_url}/me", headers=access).status_code == 401


def test_logout_with_the_refresh_token_in_a_json_body_ends_that_session(service: Service) -> None:
    tokens = service.login().json()
    other = service.login().json()
    response = service.http.post(
        "/logout", headers=bearer(other["access_token"]), json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert service.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_repeated_failures_are_throttled_and_success_resets_the_username(service: Service) -> None:
    limit = service.settings.login_failures_per_username
    for _ in range(limit - 1):
        assert service.login(password="wrong password!").status_code == 400
    assert service.login().status_code == 200  # resets alice's count
    for _ in range(limit):
        assert service.login(password="wrong password!").status_code == 400
    throttled = service.login()
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= service.settings.login_failure_window_seconds
    assert throttled.headers["cache-control"] == "no-store"


def test_failures_are_throttled_per_client_address_too(service: Service) -> None:
    for number in range(service.settings.login_failures_per_address):
        assert service.login(f"guess-{number}", "wrong password!").status_code == 400
    assert service.login("someone-new", "wrong password!").status_code == 429


def test_guesses_sent_all_at_once_are_held_to_the_limit(service: Service) -> None:
    limit = service.settings.login_failures_per_username
    form = {"grant_type": "password", "username": "alice"}

    async def burst() -> list[int]:
        async with httpx2.AsyncClient(base_url=service.http.base_url, timeout=60) as http:
            guesses = [{**form, "password": f"guess {number}"} for number in range(3 * limit)]
            answers = await asyncio.gather(*(http.post("/token", data=guess) for guess in guesses))
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(burst())
    assert set(statuses) == {400, 429}
    assert statuses.count(400) == limit  # every guess past the limit was refused before its check


def test_failures_for_another_spelling_of_a_username_do_not_hold_back_its_owner(service: Service) -> None:
    # The lookup matches usernames exactly, so guesses for "ALICE" can never be alice's password.
    for _ in range(service.settings.login_failures_per_username):
        assert service.login("ALICE", "wrong password!").status_code == 400
    assert service.login().status_code == 200


def test_logout_refuses_junk_bodies_with_invalid_request(service: Service) -> None:
    access = bearer(service.login().json()["access_token"])
    for body in (b"[" * 3000, b"{", b"\xff{}"):  # nested past the parser's depth, cut short, not UTF-8
        response = service.http.post("/logout", headers={**access, "content-type": "application/json"}, content=body)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request"), body[:10]


def test_a_minted_token_is_logged_out_and_one_without_jti_is_not_revocable(service: Service) -> None:
    now = time.time()
    minted = build_claims(service.settings, sub=service.user_id, scope="", ttl=600, now=now)
    without_jti = {name: value for name, value in minted.items() if name != "jti"}
    key = signing_key(service.settings)
    minted_token, no_jti_token = (tokens.sign(claims, key, ALGORITHM) for claims in (minted, without_jti))
    refused = service.http.post("/logout", headers=bearer(no_jti_token))
    assert (refused.status_code, refused.json()["error"]) == (400, "unsupported_token_type")
    assert service.http.get("/me", headers=bearer(minted_token)).status_code == 200
    assert service.http.post("/logout", headers=bearer(minted_token)).status_code == 204
    assert service.http.get("/me", headers=bearer(minted_token)).status_code == 401


def test_logout_refuses_a_token_naming_an_issuer_that_became_an_alias(settings: Settings, service: Service) -> None:
    # Tokens issued before a move to a new issuer name the old one, which stays accepted as an alias.
    old_issuer = "https://old.example.com"
    signer = AccessTokenSigner(settings.model_copy(update={"issuer": old_issuer}))
    issued = signer.sign(service.user_id, "a-session", "", now=int(time.time()), not_before=0)
    moved = settings.model_copy(update={"issuer_aliases": (old_issuer,)})
    with serving(create_app(moved)) as base_url, httpx2.Client(base_url=base_url) as http:
        assert http.get("/me", headers=bearer(issued.token)).status_code == 200
        assert http.post("/logout", headers=bearer(issued.token)).status_code == 204
        assert http.get("/me", headers=bearer(issued.token)).status_code == 401
    with serving(create_app(moved)) as base_url:  # a worker started later reads the deny-list from the database
        assert httpx2.get(f"{base_url}/me", headers=bearer(issued.token)).status_code == 401


def test_a_hash_made_with_other_parameters_is_replaced_at_login(settings: Settings) -> None:
    old = Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user_id = add_user(settings, "bob", password_hash=old)
    with serving(create_app(settings)) as base_url:
        response = httpx2.post(
            f"{base_url}/token", data={"grant_type": "password", "username": "bob", "password": PASSWORD}
        )
    assert response.status_code == 200
    rehashed = stored_user(settings, user_id).password_hash
    assert rehashed is not None
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


FORM = {"content-type": "application/x-www-form-urlencoded"}
BAD_BODIES = [
    ("missing grant_type", FORM, b"username=alice&password=x", 400, "invalid_request"),
    ("missing password", FORM, b"grant_type=password&username=alice", 400, "invalid_request"),
    ("repeated username", FORM, b"grant_type=password&username=alice&username=bob&password=x", 400, "invalid_request"),
    (
        "repeated grant_type",
        FORM,
        b"grant_type=password&grant_type=refresh_token&username=a&password=x",
        400,
        "invalid_request",
    ),
    ("not UTF-8", FORM, b"grant_type=password&username=\xff\xfe&password=x", 400, "invalid_request"),
    ("percent-encoded non-UTF-8", FORM, b"grant_type=password&username=%ff%fe&password=x", 400, "invalid_request"),
    (
        "SQL in the username",
        FORM,
        b"grant_type=password&username=alice%27%20OR%20%271%27%3D%271&password=x",
        400,
        "invalid_grant",
    ),
    ("NUL in the username", FORM, b"grant_type=password&username=al%00ice&password=x", 400, "invalid_grant"),
    ("3 KB username", FORM, b"grant_type=password&password=x&username=" + b"a" * 3000, 400, "invalid_grant"),
    ("10 KB username", FORM, b"grant_type=password&password=x&username=" + b"a" * 10240, 413, "invalid_request"),
    (
        "JSON",
        {"content-type": "application/json"},
        b'{"grant_type":"password","username":"alice"}',
        400,
        "invalid_request",
    ),
    ("multipart", {"content-type": "multipart/form-data; boundary=x"}, b"--x--", 400, "invalid_request"),
    ("no content type", {}, b"grant_type=password&username=alice&password=x", 400, "invalid_request"),
    ("unknown grant", FORM, b"grant_type=client_credentials", 400, "unsupported_grant_type"),
    ("empty refresh token", FORM, b"grant_type=refresh_token&refresh_token=", 400, "invalid_request"),
    ("junk refresh token", FORM, b"grant_type=refresh_token&refresh_token=" + b"x" * 1000, 400, "invalid_grant"),
]


@pytest.mark.parametrize("case", BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_input_gets_a_4xx_oauth_error_never_a_5xx(
    service: Service, case: tuple[str, dict[str, str], bytes, int, str]
) -> None:
    name, headers, body, status, error = case
    response = service.http.post("/token", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, error), name
    assert response.headers["cache-control"] == "no-store"


def test_openapi_declares_the_password_flow_at_token(service: Service) -> None:
    spec = service.http.get("/openapi.json").json()
    # The scopes the app's routes require, routes added later included; the shipped /items needs items:read.
    needed = required_scopes(create_app(service.settings))
    assert needed["items:read"] == ["GET /items"]
    scopes = {scope: "needed by " + ", ".join(routes) for scope, routes in needed.items()}
    assert spec["components"]["securitySchemes"]["PasswordLogin"] == {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": "/token", "scopes": scopes}},
    }
    assert {"PasswordLogin": []} in spec["paths"]["/me"]["get"]["security"]
    assert {"PasswordLogin": ["items:read"]} in spec["paths"]["/items"]["get"]["security"]
    assert "application/x-www-form-urlencoded" in spec["paths"]["/token"]["post"]["requestBody"]["content"]
