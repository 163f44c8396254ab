"""The provider's claim mapping baked into the settings: scopes, audience, issuers, required claims."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import Provider
from .support import AUDIENCE, Signer, access_claims, nested


def token_for(settings: Settings, signer: Signer, **claims: Any) -> str:
    return tokens.sign(access_claims(settings, **claims), signer.key, signer.alg, kid=signer.kid)


def me(settings: Settings, token: str) -> tuple[int, dict[str, Any]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_every_configured_scope_claim_grants_scopes(settings: Settings, signer: Signer) -> None:
    for index, path in enumerate(settings.scope_claims):
        as_string = f"read:{index} write:{index}"
        status, body = me(settings, token_for(settings, signer, **nested(path, as_string)))
        assert status == 200, path
        assert sorted(body["scopes"]) == [f"read:{index}", f"write:{index}"], path
        status, body = me(settings, token_for(settings, signer, **nested(path, [f"list:{index}", 7])))
        assert body["scopes"] == [f"list:{index}"], path


def test_audience_is_read_from_the_configured_claim(settings: Settings, signer: Signer) -> None:
    assert me(settings, token_for(settings, signer))[0] == 200
    wrong = token_for(settings, signer, audience="api://someone-else")
    assert me(settings, wrong)[0] == 401
    if settings.audience_claim != "aud":
        # A token with our audience only in "aud" (e.g. an ID token) is not an access token for us.
        id_token = token_for(settings, signer, audience=None, aud=AUDIENCE)
        assert me(settings, id_token)[0] == 401


def test_required_claims_are_enforced(settings: Settings, signer: Signer) -> None:
    # The baked pairs; a sample pair where the preset requires none, so that this test always checks something.
    settings = settings.model_copy(update={"required_claims": settings.required_claims or ("token_use=access",)})
    assert me(settings, token_for(settings, signer))[0] == 200
    for pair in settings.required_claims:
        name, _, value = pair.partition("=")
        assert me(settings, token_for(settings, signer, **{name: None}))[0] == 401
        assert me(settings, token_for(settings, signer, **{name: value + "-not"}))[0] == 401


def test_issuer_aliases_are_verified_with_the_issuers_keys_and_no_others(provider: Provider, signer: Signer) -> None:
    alias = "https://other-issuer.test/v1/"
    settings = Settings(_env_file=None, issuer=provider.issuer, audience=AUDIENCE, jwks_url=None, issuer_aliases=alias)
    assert me(settings, token_for(settings, signer, iss=alias))[0] == 200
    assert me(settings, token_for(settings, signer, iss="https://other-issuer.test/v2/"))[0] == 401
