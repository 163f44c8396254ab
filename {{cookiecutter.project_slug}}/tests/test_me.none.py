"""``/me`` in a service without logins: it returns the verified claims of the caller's token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.verifier import Settings

from .support import Mint, bearer, nested


def test_me_returns_verified_claims(client: TestClient, mint: Mint) -> None:
    response = client.get("/me", headers=bearer(mint(sub="bob", scopes="a b")))
    assert response.status_code == 200
    body = response.json()
    assert body["sub"] == "bob"
    assert sorted(body["scopes"]) == ["a", "b"]


def test_scopes_from_every_scope_claim_are_merged(client: TestClient, mint: Mint, settings: Settings) -> None:
    claims: dict[str, object] = {}
    for index, path in enumerate(settings.scope_claims):
        claims.update(nested(path, [f"s{index}"]))
    body = client.get("/me", headers=bearer(mint(**claims))).json()
    assert sorted(body["scopes"]) == [f"s{index}" for index in range(len(settings.scope_claims))]
