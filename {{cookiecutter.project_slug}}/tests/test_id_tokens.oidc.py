"""ID tokens the login refuses, checked against the real provider's discovery and keys.

The provider only ever issues good ID tokens, so these tests sign their own:
with the provider's own key (its keys file), and with keys it never had.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.id_tokens import ID_TOKEN_ALGORITHMS, Identity, IdTokenVerifier
from {{ cookiecutter.package_name }}.jwks_cache import JwksCache, JwksDocuments, JwksPolicy
from {{ cookiecutter.package_name }}.login_errors import LoginRefusedError

from .upstream import Client, ProviderConfig, UpstreamProvider, running_provider

SECRET = "svc-client-secret-0123456789abcdef"
CLIENT = Client("svc", ["http://127.0.0.1:9/authorize"], client_secret=SECRET)
NONCE = "the-nonce-this-login-sent"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def provider() -> Iterator[UpstreamProvider]:
    with running_provider(ProviderConfig(clients=[CLIENT])) as running:
        yield running


@pytest.fixture
async def verifier(provider: UpstreamProvider) -> AsyncIterator[IdTokenVerifier]:
    policy = JwksPolicy(refetch_cooldown=0)
    documents = JwksDocuments(ID_TOKEN_ALGORITHMS, policy)
    jwks = JwksCache(issuer=provider.issuer, jwks_url=None, documents=documents)
    try:
        yield IdTokenVerifier(jwks, issuer=provider.issuer, client_id=CLIENT.client_id, leeway=30)
    finally:
        await jwks.aclose()
        await documents.aclose()


def id_claims(provider: UpstreamProvider, **overrides: Any) -> dict[str, Any]:
    """Claims of a good ID token for ``CLIENT``; a keyword set to None drops that claim."""
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": CLIENT.client_id,
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "alice@example.test",
        "email_verified": True,
        "name": "Alice",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def signed_by_provider(provider: UpstreamProvider, **overrides: Any) -> str:
    jwk = provider.private_keys()[0]
    key = tokens.load_key(jwk, jwk["alg"])
    return tokens.sign(id_claims(provider, **overrides), key, jwk["alg"], kid=jwk["kid"])


def signed_by_stranger(provider: UpstreamProvider, kid: str) -> str:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return tokens.sign(id_claims(provider), tokens.load_key(pem, "RS256"), "RS256", kid=kid)


async def test_a_good_id_token_names_the_identity(provider: UpstreamProvider, verifier: IdTokenVerifier) -> None:
    identity = await verifier.verify(signed_by_provider(provider), NONCE)
    assert identity == Identity(provider.issuer, "alice", "alice@example.test", "Alice")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://other.example.com"}, "id_token_iss_mismatch"),
        ({"iss": None}, "id_token_iss_mismatch"),
        ({"aud": "another-client"}, "id_token_aud_mismatch"),
        ({"aud": ["svc", "another-client"]}, "id_token_azp_mismatch"),
        ({"aud": ["svc", "another-client"], "azp": "another-client"}, "id_token_azp_mismatch"),
        ({"azp": "another-client"}, "id_token_azp_mismatch"),
        ({"exp": int(time.time()) - 3600}, "id_token_expired"),
        ({"exp": None}, "id_token_exp_missing"),
        ({"iat": None}, "id_token_iat_missing"),  # OpenID Connect Core §2 requires it
        ({"iat": int(time.time()) + 3600}, "id_token_issued_in_future"),
        ({"exp": int(time.time()) + 30 * 24 * 3600}, "id_token_lifetime_too_long"),
        ({"nonce": "another-login's-nonce"}, "id_token_nonce_mismatch"),
        ({"nonce": None}, "id_token_nonce_mismatch"),
        ({"nonce": 1}, "id_token_nonce_mismatch"),
        ({"sub": None}, "id_token_sub_invalid"),
        ({"sub": "x" * 256}, "id_token_sub_invalid"),
    ],
)
async def test_id_tokens_with_wrong_claims_are_refused(
    provider: UpstreamProvider, verifier: IdTokenVerifier, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(LoginRefusedError) as refused:
        await verifier.verify(signed_by_provider(provider, **overrides), NONCE)
    assert refused.value.reason == reason


async def test_id_tokens_the_provider_did_not_sign_are_refused(
    provider: UpstreamProvider, verifier: IdTokenVerifier
) -> None:
    good = signed_by_provider(provider)
    header, claims, signature = good.split(".")
    other_claims = signed_by_provider(provider, sub="mallory").split(".")[1]
    secret_key = tokens.load_key(SECRET, "HS256")
    forgeries = {
        "claims swapped under the signature": (f"{header}.{other_claims}.{signature}", "id_token_bad_signature"),
        "signature stripped (alg kept)": (f"{header}.{claims}.", "id_token_malformed"),
        "alg none": (tokens.sign(id_claims(provider), secret_key, "HS256", headers={"alg": "none"}), "alg"),
        "HS256 with the client secret": (tokens.sign(id_claims(provider), secret_key, "HS256"), "alg"),
        "a stranger's key, the provider's kid": (
            signed_by_stranger(provider, provider.private_keys()[0]["kid"]),
            "id_token_bad_signature",
        ),
        "a stranger's key, a kid of its own": (signed_by_stranger(provider, "strangers-key"), "id_token_unknown_kid"),
    }
    for name, (token, reason) in forgeries.items():
        with pytest.raises(LoginRefusedError) as refused:
            await verifier.verify(token, NONCE)
        assert reason in refused.value.reason, name


@pytest.mark.parametrize("verified", [False, "true", None])
async def test_an_email_not_verified_is_dropped(
    provider: UpstreamProvider, verifier: IdTokenVerifier, verified: object
) -> None:
    identity = await verifier.verify(signed_by_provider(provider, email_verified=verified), NONCE)
    assert (identity.subject, identity.email) == ("alice", None)


async def test_a_name_or_email_holding_control_characters_is_dropped_not_the_login(
    provider: UpstreamProvider, verifier: IdTokenVerifier
) -> None:
    # Users edit their display name at the provider; PostgreSQL cannot store a NUL.
    token = signed_by_provider(provider, name="Mallory\u0000", email="mallory\u0007@example.test")
    identity = await verifier.verify(token, NONCE)
    assert (identity.subject, identity.name, identity.email) == ("alice", None, None)
    assert (await verifier.verify(signed_by_provider(provider, name="Zoë 🙂"), NONCE)).name == "Zoë 🙂"
