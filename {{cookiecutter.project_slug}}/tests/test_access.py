"""The HTTP contract of the protected routes (RFC 6750), whatever the auth mode."""

from __future__ import annotations

import dataclasses
import time

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.authenticator import Authenticator
from {{ cookiecutter.package_name }}.dependency import has_access
from {{ cookiecutter.package_name }}.verifier import Settings

from .support import AppFactory, Mint, bearer

INVALID = 'Bearer error="invalid_token"'


def test_health_and_readiness_are_open(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True}


def test_a_route_of_yours_reads_the_apps_settings(make_app: AppFactory, settings: Settings, mint: Mint) -> None:
    # As the README shows: settings: Settings = request.app.state.settings
    app = make_app()

    async def audience(request: Request) -> str | None:
        current: Settings = request.app.state.settings
        return current.audience

    app.add_api_route("/audience", audience, dependencies=[Depends(has_access)])
    with TestClient(app) as client:
        assert client.get("/audience", headers=bearer(mint())).json() == settings.audience


def test_valid_token_reaches_hello(client: TestClient, mint: Mint) -> None:
    response = client.get("/hello", params={"name": "X"}, headers=bearer(mint()))
    assert response.status_code == 200
    assert response.json() == "Hi X"


@pytest.mark.parametrize("path", ["/hello?name=X", "/me", "/items"])
def test_missing_token_gets_401_with_bare_challenge(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearer  two-spaces", "Bearer\tabc.def.ghi"],
)
def test_unusable_authorization_header_gets_401(client: TestClient, header: str) -> None:
    response = client.get("/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_two_authorization_headers_get_400_invalid_request(client: TestClient, mint: Mint) -> None:
    # RFC 6750 §3.1: a request that repeats a parameter or uses more than one method is invalid_request.
    for second in (f"Bearer {mint()}", "Bearer junk", "Basic dXNlcjpwYXNz"):
        response = client.get("/me", headers=[("Authorization", f"Bearer {mint()}"), ("Authorization", second)])
        assert response.status_code == 400, second
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_request"'


def test_lower_case_scheme_is_accepted(client: TestClient, mint: Mint) -> None:
    response = client.get("/hello", params={"name": "X"}, headers={"Authorization": f"bearer {mint()}"})
    assert response.status_code == 200


@pytest.mark.parametrize("junk", ["x", "a.b", "a.b.c", "a.b.c.d.e", "é.é.é", "Zm9v.YmFy.YmF6", "...."])
def test_junk_token_gets_401_invalid_token(client: TestClient, junk: str) -> None:
    response = client.get("/me", headers={b"Authorization": f"Bearer {junk}".encode()})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID


def test_items_without_scope_gets_403_insufficient_scope(client: TestClient, mint: Mint) -> None:
    response = client.get("/items", headers=bearer(mint(scopes="other")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="items:read"'


def test_items_with_scope_is_allowed(client: TestClient, mint: Mint) -> None:
    response = client.get("/items", headers=bearer(mint(scopes="items:read")))
    assert response.status_code == 200
    assert response.json()[0]["name"] == "hammer"


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 3600},
        {"nbf": int(time.time()) + 3600},
        {"iat": int(time.time()) + 3600},
        {"audience": "api://someone-else"},
        {"audience": ["api://a", "api://b"]},
        {"audience": None},
        {"audience": 42},
        {"iss": "https://evil.test"},
        {"iss": None},
        {"sub": None},
        {"sub": 42},
        {"exp": "tomorrow"},
        {"exp": True},
        {"exp": [1]},
        {"exp": 10**400},
        {"cnf": {"jkt": "bound-to-a-key-this-request-does-not-prove"}},
        {"cnf": {"x5t#S256": "an-mtls-binding-this-service-cannot-check"}},
    ],
    ids=repr,
)
def test_bad_claims_get_401_invalid_token(client: TestClient, mint: Mint, claims: dict[str, object]) -> None:
    response = client.get("/me", headers=bearer(mint(**claims)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID


def test_audience_list_containing_ours_is_accepted(client: TestClient, mint: Mint, settings: Settings) -> None:
    token = mint(audience=["api://other", settings.audience])
    response = client.get("/hello", params={"name": "X"}, headers=bearer(token))
    assert response.status_code == 200


def test_alg_none_is_refused(client: TestClient, mint: Mint) -> None:
    claims_b64 = mint().split(".")[1]
    for none in ("eyJhbGciOiJub25lIn0", "eyJhbGciOiJOb05lIn0"):  # {"alg":"none"}, {"alg":"NoNe"}
        for signature in ("", "c2ln"):
            response = client.get("/me", headers=bearer(f"{none}.{claims_b64}.{signature}"))
            assert response.status_code == 401, (none, signature)


def test_verified_token_is_cached_and_rechecked_on_expiry(app: FastAPI, client: TestClient, mint: Mint) -> None:
    authenticator: Authenticator = app.state.authenticator
    token = mint(exp=int(time.time()) + 300)
    assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200
    assert authenticator.cache.get(token) is not None
    assert client.get("/hello", params={"name": "X"}, headers=bearer(token)).status_code == 200

    cached = authenticator.cache.get(token)
    assert cached is not None
    authenticator.cache.put(token, dataclasses.replace(cached, exp=time.time() - 3600))
    response = client.get("/hello", params={"name": "X"}, headers=bearer(token))
    assert response.status_code == 401
    assert authenticator.cache.get(token) is None


def test_openapi_documents_bearer_scheme_on_protected_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["BearerJWT"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path in ("/hello", "/me"):
        assert spec["paths"][path]["get"]["security"][0] == {"BearerJWT": []}
    assert spec["paths"]["/items"]["get"]["security"][0] == {"BearerJWT": ["items:read"]}
    assert "security" not in spec["paths"]["/health"]["get"]
