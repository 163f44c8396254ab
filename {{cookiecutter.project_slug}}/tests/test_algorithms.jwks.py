"""Every signature algorithm providers publish, each key bound to the one algorithm its material fits.

RS* and ES* are verified by python-jose, PS* and EdDSA by ``cryptography`` directly; the
provider here serves real keys of each kind, and keys that claim one algorithm while
carrying another's material.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, x25519
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.dpop import thumbprint, token_hash
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import CryptographySigner, Provider, ProviderKey, b64, make_key, private_key
from .support import AUDIENCE, Signer, access_claims, bearer, signed

NEW = ["PS256", "PS384", "PS512", "EdDSA"]
EVERY = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", *NEW})


def app_settings(provider: Provider, algorithms: frozenset[str]) -> Settings:
    return Settings(
        _env_file=None,
        issuer=provider.issuer,
        audience=AUDIENCE,
        jwks_url=None,
        algorithms=algorithms,
        jwks_refetch_cooldown_seconds=30,
    )


def token(settings: Settings, signer: Signer, *, alg: str | None = None, kid: str | None = None) -> str:
    """A good token signed by ``signer``, whose header may name another ``alg`` or ``kid``."""
    return tokens.sign(access_claims(settings), signer.key, alg or signer.alg, kid=kid or signer.kid)


def statuses(settings: Settings, *tokens_: str) -> list[int]:
    with TestClient(create_app(settings)) as client:
        return [client.get("/me", headers=bearer(each)).status_code for each in tokens_]


@pytest.mark.parametrize("alg", NEW)
def test_pss_and_eddsa_tokens_are_accepted_once_allowed(provider: Provider, alg: str) -> None:
    signer = provider.add_key(alg)
    settings = app_settings(provider, frozenset({"RS256", alg}))
    assert statuses(settings, token(settings, signer), token(settings, provider.keys[0].signer)) == [200, 200]


@pytest.mark.parametrize("alg", NEW)
def test_pss_and_eddsa_are_refused_by_default(provider: Provider, alg: str) -> None:
    signer = provider.add_key(alg)
    settings = Settings(_env_file=None, issuer=provider.issuer, audience=AUDIENCE, jwks_url=None)
    assert "RS256" in settings.algorithms
    assert alg not in settings.algorithms
    assert statuses(settings, token(settings, signer)) == [401]


def test_every_algorithm_at_once_each_key_for_its_own(provider: Provider) -> None:
    signers = [provider.add_key(alg) for alg in sorted(EVERY)]
    settings = app_settings(provider, EVERY)
    assert statuses(settings, *(token(settings, signer) for signer in signers)) == [200] * len(signers)


def test_a_token_naming_another_algorithm_than_its_key_is_refused(provider: Provider) -> None:
    """Each key verifies only the algorithm it was published for, even where its material would fit another."""
    rs256 = provider.keys[0]
    for alg, kid in (("PS256", "pss"), ("EdDSA", "ed"), ("ES256", "ec")):
        provider.add_key(alg, kid=kid)
    pss, ed, ec = provider.keys[1:]
    settings = app_settings(provider, EVERY)
    forged = [
        token(settings, other(rs256, "PS256")),  # the RS256 key's private half, signing PSS under its kid
        token(settings, other(pss, "PS384")),  # the PS256 key signing PS384
        token(settings, other(pss, "RS256")),  # the PS256 key signing PKCS#1 v1.5
        token(settings, ed.signer, kid=rs256.signer.kid),  # EdDSA under an RSA key's kid
        token(settings, ed.signer, kid="ec"),  # EdDSA under an EC key's kid
        token(settings, ec.signer, kid="ed"),  # ES256 under the Ed25519 key's kid
        token(settings, rs256.signer, kid="pss"),  # RS256 by another key, under the PSS key's kid
    ]
    assert statuses(settings, *forged) == [401] * len(forged)
    assert statuses(settings, token(settings, pss.signer), token(settings, ed.signer)) == [200, 200]


def other(key: ProviderKey, alg: str) -> Signer:
    """The key's private half signing ``alg`` under its own kid, whatever its JWK says."""
    if alg.startswith("RS"):
        pem = key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return Signer(tokens.load_key(pem, alg), alg, key.signer.kid)
    return Signer(CryptographySigner(key.private, alg), alg, key.signer.kid)


def lying_keys(provider: Provider) -> tuple[dict[str, Signer], list[dict[str, Any]]]:
    """Keys whose ``alg``, ``kty`` or ``crv`` disagree with their material, and signers that match the material."""
    signers = {
        name: provider.add_key(alg, kid=name) for name, alg in (("rsa", "RS256"), ("ec", "ES256"), ("ed", "EdDSA"))
    }
    signers["small"] = provider.add_key("PS256", kid="small", rsa_bits=1024)
    material = {key.signer.kid: key.jwk for key in provider.keys}
    padded = private_key("PS256", "padded", 1024)
    signers["padded"] = Signer(CryptographySigner(padded, "PS256"), "PS256", "padded-1024")
    ed448_x = ed448.Ed448PrivateKey.generate().public_key().public_bytes_raw()
    x25519_x = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    lies = [
        {**material["ec"], "kid": "ps-on-ec", "alg": "PS256"},
        {**material["ed"], "kid": "rs-on-okp", "alg": "RS256"},
        {**material["ed"], "kid": "es-on-okp", "alg": "ES256"},
        {**material["rsa"], "kid": "eddsa-on-rsa", "alg": "EdDSA"},
        {**material["rsa"], "kid": "es-on-rsa", "alg": "ES256"},
        {**material["ec"], "kid": "eddsa-on-ec", "alg": "EdDSA"},
        {**material["ed"], "kid": "ed-as-x25519", "crv": "X25519"},
        {"kty": "OKP", "crv": "Ed448", "kid": "ed448", "alg": "EdDSA", "x": b64(ed448_x)},
        {"kty": "OKP", "crv": "X25519", "kid": "x25519", "alg": "EdDSA", "x": b64(x25519_x)},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-no-x", "alg": "EdDSA"},
        # 1024 bits, zero-padded to the length of a 2048-bit modulus
        {
            "kty": "RSA",
            "kid": "padded-1024",
            "alg": "PS256",
            "n": b64(padded.public_key().public_numbers().n.to_bytes(256, "big")),
            "e": "AQAB",
        },
        {**material["rsa"], "kid": "alg-list", "alg": ["RS256"]},
    ]
    return signers, lies


def test_keys_whose_algorithm_does_not_fit_their_material_are_skipped(provider: Provider) -> None:
    signers, provider.extra_jwks_entries = lying_keys(provider)
    settings = app_settings(provider, EVERY)
    forged = [
        token(settings, signers["ec"], kid="ps-on-ec"),
        token(settings, signers["ed"], kid="rs-on-okp"),
        token(settings, signers["ed"], kid="es-on-okp"),
        token(settings, signers["rsa"], kid="eddsa-on-rsa"),
        token(settings, signers["rsa"], kid="es-on-rsa"),
        token(settings, signers["ec"], kid="eddsa-on-ec"),
        token(settings, signers["ed"], kid="ed-as-x25519"),
        token(settings, signers["ed"], kid="ed448"),
        token(settings, signers["ed"], kid="x25519"),
        token(settings, signers["ed"], kid="ed-no-x"),
        token(settings, signers["small"]),  # PS256 on a 1024-bit key
        token(settings, signers["padded"]),
        token(settings, signers["rsa"], kid="alg-list"),
    ]
    good = [token(settings, signers[name]) for name in ("rsa", "ec", "ed")]
    assert statuses(settings, *forged, *good) == [401] * len(forged) + [200] * len(good)


@pytest.mark.parametrize(
    ("jwk", "alg"),
    [
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "PS256"),
        ({"kty": "OKP", "crv": "Ed448", "x": b64(bytes(57))}, "EdDSA"),
        ({"kty": "OKP", "crv": "Ed25519", "x": b64(bytes(31))}, "EdDSA"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "EdDSA"),
        ({"kty": "RSA", "n": "!!", "e": "AQAB"}, "PS256"),
        ({"kty": "RSA", "e": "AQAB"}, "PS512"),
    ],
    ids=repr,
)
def test_load_key_refuses_material_that_does_not_fit_the_algorithm(jwk: dict[str, Any], alg: str) -> None:
    with pytest.raises(ValueError, match=f"unusable {alg} key"):
        tokens.load_key(jwk, alg)


def test_pss_and_eddsa_keys_take_public_jwks_only() -> None:
    with pytest.raises(ValueError, match="a public JWK is needed"):
        tokens.load_key(b"-----BEGIN PRIVATE KEY-----", "EdDSA")


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_dpop_proofs_may_be_signed_with_pss_and_eddsa_keys(provider: Provider, alg: str) -> None:
    holder = make_key(alg, "holder", owner="dpop")
    jwk = {name: value for name, value in holder.jwk.items() if name not in {"kid", "use"}}
    settings = app_settings(provider, frozenset({"RS256"}))
    token = tokens.sign(access_claims(settings, cnf={"jkt": thumbprint(jwk)}), provider.keys[0].signer.key, "RS256")

    def proof() -> str:
        claims = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": "http://testserver/me", "iat": int(time.time())}
        return signed(Signer(holder.signer.key, alg), {**claims, "ath": token_hash(token)}, typ="dpop+jwt", jwk=jwk)

    for allowed, expected in ((frozenset({alg}), 200), (frozenset({"ES256"}), 401)):
        dpop = settings.model_copy(update={"dpop": "required", "dpop_algorithms": allowed})
        with TestClient(create_app(dpop)) as client:
            response = client.get("/me", headers={"Authorization": f"DPoP {token}", "DPoP": proof()})
        assert response.status_code == expected, response.headers
