"""Several issuers in one service, each with keys of its own, and multi-tenant issuers with an allow-list.

Two providers on 127.0.0.1 (``tests/idp.py``, which counts every request) sign
with different keys: a token is verified only with the keys of the issuer it
claims, and a token of an issuer nobody configured is refused without a request
to anyone. Issuers whose discovery names the same JWKS share one fetch of it.
``test_real_provider.py`` checks the first cases again with two real providers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.claims import TENANT_PLACEHOLDER
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import Provider
from .support import AUDIENCE, Signer, access_claims, bearer

TENANT = "8e0a3b6c-1111-4222-8333-944455556666"
OTHER_TENANT = "0b7c2d1e-aaaa-4bbb-8ccc-dddd0000eeee"


@pytest.fixture
def second() -> Iterator[Provider]:
    """Another issuer, with an RS256 key of its own."""
    with Provider("second") as running:
        running.add_key("RS256", "second-1")
        yield running


@pytest.fixture
def sibling(provider: Provider) -> Iterator[Provider]:
    """An issuer whose discovery names ``provider``'s JWKS, as tenants or realms behind one key set do."""
    with Provider("sibling") as running:
        running.advertised_jwks_uri = provider.jwks_url
        yield running


@pytest.fixture
def stranger() -> Iterator[Provider]:
    """An issuer nobody configured: it must never be asked for anything."""
    with Provider("stranger") as running:
        running.add_key("RS256", "stranger-1")
        yield running


def signed(settings: Settings, signer: Signer, **claims: Any) -> str:
    return tokens.sign(access_claims(settings, **claims), signer.key, signer.alg, kid=signer.kid)


def two_issuers(provider: Provider, second: Provider, **overrides: Any) -> Settings:
    options: dict[str, Any] = {"issuer": provider.issuer, "audience": AUDIENCE, "jwks_url": None}
    return Settings(_env_file=None, extra_issuers=second.issuer, http_timeout_seconds=1, **{**options, **overrides})


def test_each_issuer_is_verified_with_its_own_keys(provider: Provider, second: Provider, signer: Signer) -> None:
    settings = two_issuers(provider, second)
    other = second.keys[0].signer
    with TestClient(create_app(settings)) as client:
        assert client.get("/me", headers=bearer(signed(settings, signer))).status_code == 200
        assert client.get("/me", headers=bearer(signed(settings, other, iss=second.issuer))).status_code == 200
    # Each issuer was discovered on its own.
    for each in (provider, second):
        assert each.requests["/.well-known/openid-configuration"] == 1
        assert each.requests["/jwks"] == 1


def test_a_key_of_one_issuer_never_verifies_a_token_claiming_another(
    provider: Provider, second: Provider, signer: Signer
) -> None:
    settings = two_issuers(provider, second)
    other = second.keys[0].signer
    with TestClient(create_app(settings)) as client:
        for token in (signed(settings, signer, iss=second.issuer), signed(settings, other, iss=provider.issuer)):
            response = client.get("/me", headers=bearer(token))
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_unknown_issuer_is_refused_before_any_request(
    provider: Provider, second: Provider, stranger: Provider, signer: Signer
) -> None:
    settings = two_issuers(provider, second)
    with TestClient(create_app(settings)) as client:
        before = (sum(provider.requests.values()), sum(second.requests.values()))
        for kid in ("stranger-1", "key-1", "unknown"):
            claims = access_claims(settings, iss=stranger.issuer)
            token = tokens.sign(claims, stranger.keys[0].signer.key, "RS256", kid=kid)
            assert client.get("/me", headers=bearer(token)).status_code == 401
        assert (sum(provider.requests.values()), sum(second.requests.values())) == before
    assert sum(stranger.requests.values()) == 0


def test_the_jwks_url_belongs_to_the_main_issuer_alone(provider: Provider, second: Provider, signer: Signer) -> None:
    settings = two_issuers(provider, second, jwks_url=provider.jwks_url)
    other = second.keys[0].signer
    with TestClient(create_app(settings)) as client:
        assert client.get("/me", headers=bearer(signed(settings, signer))).status_code == 200
        assert client.get("/me", headers=bearer(signed(settings, other, iss=second.issuer))).status_code == 200
    assert provider.requests["/.well-known/openid-configuration"] == 0
    assert second.requests["/.well-known/openid-configuration"] == 1


def test_an_outage_of_one_issuer_leaves_the_others_working(
    provider: Provider, second: Provider, signer: Signer
) -> None:
    second.behaviour = "error"
    settings = two_issuers(provider, second)
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200  # readiness follows AUTH_ISSUER
        assert client.get("/me", headers=bearer(signed(settings, signer))).status_code == 200
        other = signed(settings, second.keys[0].signer, iss=second.issuer)
        assert client.get("/me", headers=bearer(other)).status_code == 503


def sharing_issuers(provider: Provider, sibling: Provider, second: Provider, **overrides: Any) -> Settings:
    """``provider`` and ``sibling`` publish one JWKS; ``second`` has its own."""
    options: dict[str, Any] = {"issuer": provider.issuer, "audience": AUDIENCE, "jwks_url": None}
    extra = f"{sibling.issuer} {second.issuer}"
    return Settings(_env_file=None, extra_issuers=extra, **{"http_timeout_seconds": 1, **options, **overrides})


def test_issuers_naming_the_same_jwks_share_one_fetch_and_one_refetch_budget(
    provider: Provider, sibling: Provider, second: Provider, signer: Signer
) -> None:
    settings = sharing_issuers(provider, sibling, second, jwks_refetch_burst=1, jwks_refetch_cooldown_seconds=3600)
    with TestClient(create_app(settings)) as client:
        assert provider.requests["/jwks"] == 1  # at start-up, for both issuers
        for issuer in (provider.issuer, sibling.issuer):
            assert client.get("/me", headers=bearer(signed(settings, signer, iss=issuer))).status_code == 200
        # A key published after start-up: one refetch, through either issuer, serves both.
        published = provider.add_key("RS256", "published-later")
        for issuer in (sibling.issuer, provider.issuer):
            assert client.get("/me", headers=bearer(signed(settings, published, iss=issuer))).status_code == 200
        assert provider.requests["/jwks"] == 2
        # The refetch budget is the document's: spent through one issuer, it is spent for the other.
        unknown = Signer(signer.key, signer.alg, "unknown-kid")
        for issuer in (provider.issuer, sibling.issuer):
            assert client.get("/me", headers=bearer(signed(settings, unknown, iss=issuer))).status_code == 401
        assert provider.requests["/jwks"] == 2
    assert (sibling.requests["/.well-known/openid-configuration"], sibling.requests["/jwks"]) == (1, 0)
    assert provider.requests["/.well-known/openid-configuration"] == 1
    assert second.requests["/jwks"] == 1


def test_shared_keys_never_verify_a_token_of_an_issuer_with_its_own_keys(
    provider: Provider, sibling: Provider, second: Provider, signer: Signer
) -> None:
    settings = sharing_issuers(provider, sibling, second)
    other = second.keys[0].signer
    with TestClient(create_app(settings)) as client:
        assert client.get("/me", headers=bearer(signed(settings, other, iss=second.issuer))).status_code == 200
        forged = (
            signed(settings, signer, iss=second.issuer),
            signed(settings, other, iss=sibling.issuer),
            signed(settings, other, iss=provider.issuer),
        )
        for token in forged:
            response = client.get("/me", headers=bearer(token))
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.anyio
async def test_a_cold_burst_from_issuers_sharing_a_jwks_fetches_it_once(
    provider: Provider, sibling: Provider, second: Provider, signer: Signer
) -> None:
    settings = sharing_issuers(provider, sibling, second, http_timeout_seconds=10)
    app = create_app(settings)  # its lifespan does not run: nothing is fetched before the burst
    tokens_of_both = [signed(settings, signer, iss=issuer) for issuer in (provider.issuer, sibling.issuer)]
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://service") as client:
        responses = await asyncio.gather(*(client.get("/me", headers=bearer(token)) for token in tokens_of_both * 50))
    await app.state.authenticator.verifier.aclose()
    assert {response.status_code for response in responses} == {200}
    assert provider.requests["/jwks"] == 1
    assert sibling.requests["/jwks"] == 0


def tenant_settings(provider: Provider, allowed: str) -> Settings:
    return Settings(
        _env_file=None,
        issuer=f"{provider.issuer}/{TENANT_PLACEHOLDER}/v2.0",
        jwks_url=provider.jwks_url,
        audience=AUDIENCE,
        allowed_tenants=allowed,
    )


def tenant_token(settings: Settings, signer: Signer, tenant: str, tid: str | None = None) -> str:
    issuer = (settings.issuer or "").replace(TENANT_PLACEHOLDER, tenant)
    return signed(settings, signer, iss=issuer, tid=tid or tenant)


# (allowed tenants, tenant in iss, tid claim) -> status
TENANT_CASES = {
    (TENANT, TENANT, TENANT): 200,
    (f"{OTHER_TENANT} {TENANT}", TENANT, TENANT): 200,
    (TENANT, OTHER_TENANT, OTHER_TENANT): 401,  # a tenant not on the list
    (TENANT, TENANT, OTHER_TENANT): 401,  # tid and iss disagree
    (TENANT, "not/a/tenant", "not/a/tenant"): 401,
    ("", TENANT, TENANT): 401,  # an empty list accepts nobody
}


@pytest.mark.parametrize(("case", "status"), TENANT_CASES.items(), ids=repr)
def test_multi_tenant_issuer_accepts_only_allowed_tenants(
    provider: Provider, signer: Signer, case: tuple[str, str, str], status: int
) -> None:
    allowed, tenant, tid = case
    settings = tenant_settings(provider, allowed)
    with TestClient(create_app(settings)) as client:
        response = client.get("/me", headers=bearer(tenant_token(settings, signer, tenant, tid)))
    assert response.status_code == status


def test_a_multi_tenant_alias_is_verified_with_the_issuers_keys(provider: Provider, signer: Signer) -> None:
    # Entra ID's v1 tokens name https://sts.windows.net/{tenantid}/ beside the v2 issuer.
    alias = f"{provider.issuer}/sts/{TENANT_PLACEHOLDER}/"
    settings = tenant_settings(provider, TENANT).model_copy(update={"issuer_aliases": (alias,)})
    v1 = signed(settings, signer, iss=alias.replace(TENANT_PLACEHOLDER, TENANT), tid=TENANT)
    stranger = signed(settings, signer, iss=alias.replace(TENANT_PLACEHOLDER, OTHER_TENANT), tid=OTHER_TENANT)
    with TestClient(create_app(settings)) as client:
        assert client.get("/me", headers=bearer(v1)).status_code == 200
        assert client.get("/me", headers=bearer(stranger)).status_code == 401


def test_a_tenant_issuer_needs_a_jwks_url() -> None:
    with pytest.raises(ValueError, match="needs AUTH_JWKS_URL"):
        Settings(_env_file=None, issuer="https://login.example.com/{tenantid}/v2.0", jwks_url="")


@pytest.mark.parametrize("issuer", ["http://idp.example.com", "https://login.example.com/{tenantid}/v2.0"])
def test_extra_issuers_must_be_discoverable(issuer: str) -> None:
    with pytest.raises(ValueError, match=r"https|AUTH_ISSUER"):
        Settings(_env_file=None, issuer="https://idp.example.com", extra_issuers=issuer)
