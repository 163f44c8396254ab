"""python-jose verifies with pyca/cryptography, never with its pure-Python fallbacks.

python-jose depends on ``ecdsa``, which carries CVE-2024-23342 (a timing attack on
ECDSA *signing*, with no fix planned). This service only verifies, and only through
the ``cryptography`` backend: these tests prove that ``ecdsa`` and ``rsa`` never load.
"""

from __future__ import annotations

import sys

import pytest
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
{%- endif %}
from jose import backends
from jose.backends import cryptography_backend

from {{ cookiecutter.package_name }} import tokens

PURE_PYTHON = ("ecdsa", "rsa", "jose.backends.ecdsa_backend", "jose.backends.rsa_backend")
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}


def private_pem(alg: str) -> bytes:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg.startswith("RS")
        else ec.generate_private_key(ec.SECP256R1())
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
{%- endif %}


def test_python_jose_selected_the_cryptography_backend() -> None:
    assert backends.RSAKey is cryptography_backend.CryptographyRSAKey
    assert backends.ECKey is cryptography_backend.CryptographyECKey
    assert backends.HMACKey is cryptography_backend.CryptographyHMACKey
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}


@pytest.mark.parametrize(
    ("alg", "key_type"),
    [
        ("RS256", cryptography_backend.CryptographyRSAKey),
        ("ES256", cryptography_backend.CryptographyECKey),
        ("HS256", cryptography_backend.CryptographyHMACKey),
    ],
)
def test_keys_are_cryptography_keys_and_the_fallbacks_never_load(alg: str, key_type: type) -> None:
    material = "a-secret-of-at-least-32-bytes-for-hs256" if alg == "HS256" else private_pem(alg)
    key = tokens.load_key(material, alg)
    assert isinstance(key, key_type)
    token = tokens.sign({"sub": "alice"}, key, alg)
    parsed = tokens.parse(token, max_bytes=8192, algorithms={alg})
    verifier = key if alg == "HS256" else key.public_key()
    tokens.verify_signature(parsed, verifier)
    assert [name for name in PURE_PYTHON if name in sys.modules] == []
{%- else %}


def test_the_key_is_a_cryptography_hmac_key_and_the_fallbacks_never_load() -> None:
    key = tokens.load_key("a-secret-of-at-least-32-bytes-for-hs256", "HS256")
    assert isinstance(key, cryptography_backend.CryptographyHMACKey)
    parsed = tokens.parse(tokens.sign({"sub": "alice"}, key, "HS256"), max_bytes=8192, algorithms={"HS256"})
    tokens.verify_signature(parsed, key)
    assert [name for name in PURE_PYTHON if name in sys.modules] == []


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA", "none"])
def test_this_service_builds_hmac_keys_only(alg: str) -> None:
    with pytest.raises(ValueError, match=f"unusable {alg} key: no such algorithm"):
        tokens.load_key("a-secret-of-at-least-32-bytes-for-hs256", alg)
{%- endif %}
