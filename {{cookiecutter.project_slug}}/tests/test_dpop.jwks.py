"""DPoP (RFC 9449): sender-constrained tokens, with proofs made here with real keys.

Each check of RFC 9449 §4.3 that a resource server makes has a test: the
proof's shape, ``typ``, ``alg``, ``jwk``, signature, ``htm``, ``htu``, ``iat``,
``jti`` (replay) and ``ath``, and the token's ``cnf.jkt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.dpop import ReplayCache, normal_path, thumbprint, token_hash
from {{ cookiecutter.package_name }}.errors import InvalidProofError
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.verifier import Settings

from .holder import URL, Holder, dpop, sign_raw
from .support import Mint, bearer

ALGS = 'algs="ES256 RS256"'
PROOF_REFUSED = f'DPoP error="invalid_dpop_proof", {ALGS}'
TOKEN_REFUSED = f'DPoP error="invalid_token", {ALGS}'


@pytest.fixture
def holder() -> Holder:
    return Holder()


def client_for(settings: Settings, mode: str, **overrides: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"dpop": mode, **overrides})))


@pytest.fixture
def allowed(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings, "allowed") as client:
        yield client


@pytest.fixture
def required(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings, "required") as client:
        yield client


def test_bound_token_with_a_good_proof_is_accepted(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    response = allowed.get("/me", headers=dpop(token, holder.proof(token)))
    assert response.status_code == 200
    assert response.json()["jkt"] == holder.jkt


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_each_allowed_algorithm_proves_possession(settings: Settings, mint: Mint, alg: str) -> None:
    holder = Holder(alg, name=f"alg-{alg}")
    token = mint(cnf={"jkt": holder.jkt})
    with client_for(settings, "allowed") as client:
        assert client.get("/me", headers=dpop(token, holder.proof(token))).status_code == 200


def test_every_request_needs_a_fresh_proof(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    proof = holder.proof(token)
    assert allowed.get("/me", headers=dpop(token, proof)).status_code == 200
    replayed = allowed.get("/me", headers=dpop(token, proof))
    assert replayed.status_code == 401
    assert replayed.headers["WWW-Authenticate"] == PROOF_REFUSED
    assert allowed.get("/me", headers=dpop(token, holder.proof(token))).status_code == 200


def test_bound_token_presented_as_bearer_is_refused(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    response = allowed.get("/me", headers=bearer(mint(cnf={"jkt": holder.jkt})))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_bound_token_as_bearer_is_refused_with_dpop_off_too(client: TestClient, mint: Mint, holder: Holder) -> None:
    assert client.get("/me", headers=bearer(mint(cnf={"jkt": holder.jkt}))).status_code == 401


@pytest.mark.parametrize("cnf", [{"x5t#S256": "abc"}, {"jkt": ""}, {"jkt": 42}, "jkt", {"jkt": "a", "kid": "b"}])
def test_a_binding_that_cannot_be_checked_is_refused(client: TestClient, mint: Mint, cnf: object) -> None:
    assert client.get("/me", headers=bearer(mint(cnf=cnf))).status_code == 401


def test_unbound_token_presented_with_dpop_is_refused(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint()
    response = allowed.get("/me", headers=dpop(token, holder.proof(token)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == TOKEN_REFUSED


def test_allowed_mode_still_takes_plain_bearer_tokens_and_offers_both(allowed: TestClient, mint: Mint) -> None:
    assert allowed.get("/me", headers=bearer(mint())).status_code == 200
    missing = allowed.get("/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == f"Bearer, DPoP {ALGS}"


def test_required_mode_refuses_bearer_tokens(required: TestClient, mint: Mint, holder: Holder) -> None:
    refused = required.get("/me", headers=bearer(mint()))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == f"DPoP {ALGS}"
    token = mint(cnf={"jkt": holder.jkt})
    assert required.get("/me", headers=dpop(token, holder.proof(token))).status_code == 200


def test_dpop_scheme_is_not_honoured_when_off(client: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    response = client.get("/me", headers=dpop(token, holder.proof(token)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_missing_scope_is_answered_in_the_scheme_used(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt}, scopes="other")
    response = allowed.get("/items", headers=dpop(token, holder.proof(token, url="http://testserver/items")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == f'DPoP error="insufficient_scope", scope="items:read", {ALGS}'


def proof_cases(holder: Holder, token: str) -> dict[str, str | None]:
    """One proof per way RFC 9449 §4.3 says a proof can be wrong."""
    other = Holder(name="someone-else")
    private_jwk = {**holder.jwk, "d": "AAAA"}
    now = int(time.time())
    return {
        "no proof": None,
        "not a JWS": "not-a-proof",
        "two dots but junk": "a.b.c",
        "typ JWT": holder.proof(token, header=holder.header(typ="JWT")),
        "typ missing": holder.proof(token, header=holder.header(typ=None)),
        "alg none": sign_raw(holder.key, holder.header(alg="none"), {"jti": "x"}),
        "alg HS256": holder.proof(token, header=holder.header(alg="HS256")),
        "alg not allowed (ES384)": holder.proof(token, header=holder.header(alg="ES384")),
        "jwk missing": holder.proof(token, header=holder.header(jwk=None)),
        "jwk with a private member": holder.proof(token, header=holder.header(jwk=private_jwk)),
        "jwk of another key type": holder.proof(token, header=holder.header(jwk={"kty": "oct", "k": "c2VjcmV0"})),
        # A library would build 10**20 zero bytes from the number: it is refused before any key is built.
        "jwk with a number for a coordinate": holder.proof(
            token, header=holder.header(jwk={**holder.jwk, "x": 10**20})
        ),
        "jwk of another holder": holder.proof(token, header=holder.header(jwk=other.jwk)),
        "signed by another key": sign_raw(
            other.key, holder.header(), {"jti": "x", "htm": "GET", "htu": URL, "iat": now, "ath": token_hash(token)}
        ),
        "other method": holder.proof(token, method="POST"),
        "method in lower case": holder.proof(token, method="get"),
        "other path": holder.proof(token, url="http://testserver/hello"),
        "other host": holder.proof(token, url="http://evil.test/me"),
        "other scheme": holder.proof(token, url="https://testserver/me"),
        "relative htu": holder.proof(token, url="/me"),
        "htu missing": holder.proof(token, htu=None),
        "iat an hour old": holder.proof(token, iat=now - 3600),
        "iat in the future": holder.proof(token, iat=now + 3600),
        "iat a string": holder.proof(token, iat=str(now)),
        "iat missing": holder.proof(token, iat=None),
        "jti missing": holder.proof(token, jti=None),
        "jti empty": holder.proof(token, jti=""),
        "jti too long": holder.proof(token, jti="j" * 300),
        "ath missing": holder.proof(token, ath=None),
        "ath of another token": holder.proof(token, ath=token_hash(token + "x")),
        "proof of a bound key but another token": other.proof(token),
    }


def test_every_kind_of_bad_proof_is_refused(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    answers = {
        case: allowed.get("/me", headers=dpop(token, proof)) for case, proof in proof_cases(holder, token).items()
    }
    wrong = {
        case: (response.status_code, response.headers.get("WWW-Authenticate"))
        for case, response in answers.items()
        if (response.status_code, response.headers.get("WWW-Authenticate")) != (401, PROOF_REFUSED)
    }
    assert wrong == {}


def test_two_authorization_headers_get_400_with_both_challenges(
    allowed: TestClient, required: TestClient, mint: Mint, holder: Holder
) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    headers = [("Authorization", f"DPoP {token}"), ("Authorization", f"Bearer {token}"), ("DPoP", holder.proof(token))]
    both = allowed.get("/me", headers=headers)
    only_dpop = required.get("/me", headers=headers)
    assert (both.status_code, both.headers["WWW-Authenticate"]) == (
        400,
        f'Bearer error="invalid_request", DPoP error="invalid_request", {ALGS}',
    )
    assert (only_dpop.status_code, only_dpop.headers["WWW-Authenticate"]) == (
        400,
        f'DPoP error="invalid_request", {ALGS}',
    )


def test_two_proof_headers_are_refused(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    headers = [("Authorization", f"DPoP {token}"), ("DPoP", holder.proof(token)), ("DPoP", holder.proof(token))]
    response = allowed.get("/me", headers=headers)
    assert (response.status_code, response.headers["WWW-Authenticate"]) == (401, PROOF_REFUSED)


def test_equivalent_urls_match(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    equivalent = (
        "HTTP://TestServer/me",
        "http://testserver:80/me",
        "http://testserver/me?x=1#frag",
        "http://testserver/m%65",  # an escaped unreserved character
        "http://testserver/x/../me",
        "http://testserver/./me",
    )
    for url in equivalent:
        assert allowed.get("/me", headers=dpop(token, holder.proof(token, url=url))).status_code == 200, url


def test_a_request_url_spelled_with_escapes_matches_its_proof(allowed: TestClient, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    for url in ("http://testserver/m%65", "http://testserver/me"):  # the client's own spelling, and the plain one
        response = allowed.get("/m%65", headers=dpop(token, holder.proof(token, url=url)))
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/caf%c3%a9", "/caf%C3%A9"),  # escapes compare in upper case
        ("/caf\u00e9", "/caf%C3%A9"),  # a raw non-ASCII character, as a URL library escapes it
        ("/%7Euser/%41", "/~user/A"),  # unreserved characters compare unescaped
        ("/a%2fb", "/a%2Fb"),  # an escaped "/" is data, not a separator
        ("/a/./b/../c", "/a/c"),
        ("/a/b/..", "/a/"),
        ("/../../a", "/a"),  # never above the root
        ("", "/"),
    ],
)
def test_paths_compare_as_rfc_3986_normalises_them(path: str, normal: str) -> None:
    assert normal_path(path) == normal


def rsa_key_with_exponent(bits: int) -> bytes:
    """A working RSA key pair whose public exponent has ``bits`` bits, in PEM; providers use 65537 (17 bits)."""
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    p, q = numbers.p, numbers.q
    phi = (p - 1) * (q - 1)
    e = (1 << (bits - 1)) | 1
    while math.gcd(e, phi) != 1:
        e += 2
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    private = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), public)
    key = private.private_key()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_a_proof_key_with_a_huge_exponent_is_refused(allowed: TestClient, mint: Mint) -> None:
    # Each check with a 1,500-bit exponent costs tens of ES256 checks: the kind of key a provider never uses.
    holder = Holder("RS256")
    holder.key = tokens.load_key(rsa_key_with_exponent(1500), "RS256")
    holder.jwk = holder.key.public_key().to_dict()
    holder.jkt = thumbprint(holder.jwk)
    token = mint(cnf={"jkt": holder.jkt})
    assert holder.key.verify(b"signed", holder.key.sign(b"signed"))  # a sound key, that signs a sound proof
    response = allowed.get("/me", headers=dpop(token, holder.proof(token)))
    assert (response.status_code, response.headers["WWW-Authenticate"]) == (401, PROOF_REFUSED)


def test_behind_a_proxy_htu_names_the_public_url(settings: Settings, mint: Mint, holder: Holder) -> None:
    token = mint(cnf={"jkt": holder.jkt})
    public = "https://api.example.com/prefix"
    with client_for(settings, "allowed", dpop_public_url=public) as client:
        good = holder.proof(token, url=f"{public}/me")
        assert client.get("/me", headers=dpop(token, good)).status_code == 200
        assert client.get("/me", headers=dpop(token, holder.proof(token))).status_code == 401


def test_replay_cache_is_bounded_and_forgets_only_expired_proofs() -> None:
    cache = ReplayCache(size=2, ttl=10)
    assert cache.first_sighting("a", now=0)
    assert not cache.first_sighting("a", now=5)
    assert cache.first_sighting("b", now=5)
    with pytest.raises(InvalidProofError):
        cache.first_sighting("c", now=9)  # full of live entries: fail closed, never forget a live one
    assert cache.first_sighting("c", now=10)  # "a" expired and made room
    assert not cache.first_sighting("b", now=14)


def test_thumbprint_follows_rfc_7638() -> None:
    # The example of RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
        "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0z"
        "gdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
        "Cur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
