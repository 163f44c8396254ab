"""The JWS wire format: parse, verify and sign compact JWTs. The only module that imports python-jose.

{% if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" -%}
python-jose is used for what it does well: building key objects and checking
signatures. It knows RS*, ES* and HS* only, so PS256/PS384/PS512 (RSASSA-PSS)
and EdDSA (Ed25519) are checked here with ``cryptography`` directly, behind a
key class that verifies like python-jose's. Everything python-jose is lax about
{%- else -%}
python-jose is used for what it does well: building the HMAC key, which
refuses a PEM or SSH key passed as a secret. Everything python-jose is lax about
{%- endif %}
is done here, strictly and up front: the token's shape, its base64url spelling,
its JSON and its header, ``typ`` included. What the claims must say is
``claims.py``'s business. Each failure raises ``InvalidTokenError`` with a
short reason code that is safe to log.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

{% if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" -%}
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
{% endif -%}
from jose.backends.base import Key
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}
from jose.backends.cryptography_backend import CryptographyECKey, CryptographyHMACKey, CryptographyRSAKey
{%- else %}
from jose.backends.cryptography_backend import CryptographyHMACKey
{%- endif %}
from jose.exceptions import JOSEError

from .errors import InvalidTokenError

SigningKey = Key
# Three base64url segments, no padding: the only spelling we accept (RFC 7515 §7.1).
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Header parameters we do not implement; a token that needs them is refused.
REFUSED_HEADERS = frozenset({"crit", "zip", "enc"})
MAX_KID_LENGTH = 256
# RFC 4648 §5: the last of 2 (or 3) characters in a quantum leaves 4 (or 2) low bits unused.
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CANONICAL_LAST = {2: frozenset(_B64URL[::16]), 3: frozenset(_B64URL[::4])}
_PADDING = ("", "", "==", "=")
# Real claims nest three or four levels; deeper JSON would only exhaust recursion later on.
MAX_JSON_DEPTH = 32
# RFC 9068 §2.1: a JWT access token says so in typ. Media types ignore case, and a typ
# without "/" stands for "application/<typ>" (RFC 7515 §4.1.9), so both spellings are one type.
AT_JWT = "at+jwt"
AT_JWT_ONLY: frozenset[str | None] = frozenset({AT_JWT})
# Entra ID, Keycloak and Cognito still send "JWT" or no typ at all (None); any other typ
# names another kind of token (dpop+jwt, logout+jwt, secevent+jwt, id_token+jwt, ...).
ACCESS_TOKEN_TYPES: frozenset[str | None] = frozenset({AT_JWT, "jwt", None})
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}
# The hash each family of algorithms names in its last three digits (RFC 7518 §3.1).
SHA_BY_SIZE: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
# What python-jose cannot verify, verified with cryptography directly.
PSS_HASHES = {f"PS{size}": sha for size, sha in SHA_BY_SIZE.items()}
EDDSA = "EdDSA"
# What python-jose builds keys for, verified here without its per-call overhead.
HMAC_DIGESTS = {f"HS{size}": f"sha{size}" for size in SHA_BY_SIZE}
PKCS1_HASHES = {f"RS{size}": sha for size, sha in SHA_BY_SIZE.items()}
ECDSA_HASHES = {f"ES{size}": sha for size, sha in SHA_BY_SIZE.items()}
# The members of a JWK that hold key material (RFC 7518 §6): base64url strings, or the key is refused.
JWK_KEY_MEMBERS = frozenset({"n", "e", "x", "y", "crv", "k", "d", "p", "q", "dp", "dq", "qi"})
{%- else %}
# The HMAC algorithms (RFC 7518 §3.2), each with the hash in its name; verified here without python-jose's
# per-call overhead.
HMAC_DIGESTS = {f"HS{size}": f"sha{size}" for size in ("256", "384", "512")}
{%- endif %}


class ParsedToken(NamedTuple):
    """A token whose shape and JSON were checked, but not yet its signature."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


class _Header(NamedTuple):
    """A decoded header, with what ``parse`` checks in it worked out once."""

    header: dict[str, Any]
    alg: object
    # The reason to refuse any token with this header whatever the caller allows, or None.
    problem: str | None
    typ: str | None


def _b64decode(segment: str) -> bytes:
    """Decode a segment that ``COMPACT_JWS`` matched, refusing all but its canonical spelling.

    Within the alphabet and unpadded, a spelling is canonical when its length is
    not 1 modulo 4 and the bits its last character leaves unused are zero, so
    a token has exactly one form (and one verified-token cache entry).
    """
    tail = len(segment) % 4
    if tail == 1 or (tail and segment[-1] not in _CANONICAL_LAST[tail]):
        raise InvalidTokenError("non_canonical_base64")
    # binascii directly: base64.urlsafe_b64decode adds three Python calls per segment.
    standard = segment.replace("-", "+").replace("_", "/") + _PADDING[tail]
    return binascii.a2b_base64(standard, strict_mode=True)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_unique_object, parse_float=_finite_float, parse_constant=_refuse_constant
)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        # raw_decode alone when one value spans the whole text, as in every token we issue or see: decode
        # adds two whitespace matches and a call. Anything else (whitespace, junk) takes decode's path.
        try:
            value, end = _STRICT_JSON.raw_decode(text)
        except ValueError:
            end = -1
        if end != len(text):
            value = _STRICT_JSON.decode(text)
        if "\\u" in text:  # only an escape spells a lone surrogate, which no UTF-8 text (nor a response) holds
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeDecodeError and UnicodeEncodeError are ValueErrors
        raise InvalidTokenError(f"malformed_{what}") from None
    if not isinstance(value, dict) or _too_deep(value, raw):
        raise InvalidTokenError(f"malformed_{what}")
    return value


def _too_deep(value: dict[str, Any], raw: bytes) -> bool:
    """Whether containers nest deeper than ``MAX_JSON_DEPTH``, checked without recursion."""
    if raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH:  # cannot be deeper: skip the walk
        return False
    level: list[Any] = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _token_type(header: Mapping[str, Any]) -> str | None:
    """The header's typ as one media type: lower case, without ``application/``; None when absent."""
    if "typ" not in header:
        return None
    typ = header["typ"]
    if not isinstance(typ, str):
        raise InvalidTokenError("typ_not_allowed")
    return typ.lower().removeprefix("application/")


# Decoded headers by their base64url text: an issuer signs all its tokens under one of a few headers, so
# each is decoded and checked once. Bounded; emptied when full, so junk headers only cost their own decoding.
_HEADERS: dict[str, _Header] = {}
MAX_CACHED_HEADERS = 256
MAX_CACHED_HEADER_LENGTH = 1024


def _header(segment: str) -> _Header:
    known = _HEADERS.get(segment)
    if known is not None:
        return known
    header = _json_object(_b64decode(segment), "header")
    problem, typ = None, None
    kid = header.get("kid")
    if REFUSED_HEADERS.intersection(header):
        problem = "unsupported_header"
    elif kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
        problem = "malformed_kid"
    else:
        try:
            typ = _token_type(header)
        except InvalidTokenError as exc:
            problem = exc.reason
    known = _Header(header, header.get("alg"), problem, typ)
    if len(segment) <= MAX_CACHED_HEADER_LENGTH:
        if len(_HEADERS) >= MAX_CACHED_HEADERS:
            _HEADERS.clear()
        _HEADERS[segment] = known
    return known


def parse(
    token: str,
    *,
    max_bytes: int,
    algorithms: Iterable[str],
    types: frozenset[str | None] = ACCESS_TOKEN_TYPES,
) -> ParsedToken:
    """Check the token's shape, spelling, JSON and header before any crypto runs.

    ``types`` are the accepted ``typ`` values, lower case and without ``application/``;
    None accepts a token without ``typ``.
    """
    if len(token) > max_bytes:
        raise InvalidTokenError("too_large")
    if not COMPACT_JWS.fullmatch(token):
        raise InvalidTokenError("malformed")
    signing_input, _, signature_b64 = token.rpartition(".")
    header_b64, _, claims_b64 = signing_input.partition(".")
    try:
        header = _header(header_b64)
        claims = _json_object(_b64decode(claims_b64), "claims")
        signature = _b64decode(signature_b64)
    except (binascii.Error, ValueError):
        raise InvalidTokenError("non_canonical_base64") from None
    alg = header.alg
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidTokenError("alg_not_allowed")
    if header.problem is not None:
        raise InvalidTokenError(header.problem)
    if header.typ not in types:
        raise InvalidTokenError("typ_not_allowed")
    return ParsedToken(header.header, claims, signing_input.encode("ascii"), signature)


def verify_signature(token: ParsedToken, key: SigningKey) -> None:
    """Check the signature with a prebuilt key object; the key decides the algorithm.
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}

    python-jose's keys answer False for a bad signature; the keys below, built on ``cryptography``,
    let its ``InvalidSignature`` through, and it is caught here, once for all of them.
    """
{%- else %}"""
{%- endif %}
    try:
        valid = key.verify(token.signing_input, token.signature)
    except ({% if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}InvalidSignature, {% endif %}JOSEError, ValueError, TypeError):
        valid = False
    if not valid:
        raise InvalidTokenError("bad_signature")


class HmacKey(CryptographyHMACKey):
    """python-jose's HMAC key (which refuses PEM and SSH keys as secrets), its secret keyed into HMAC once.

    python-jose's own ``verify`` builds a backend, an HMAC object and an exception frame per token;
    ``hmac.digest`` looks the hash up by name in OpenSSL on every call. Copying a keyed state does neither.
    """

    def __init__(self, key: str | bytes | dict[str, Any], algorithm: str) -> None:
        super().__init__(key, algorithm)
        self._keyed = hmac.new(self.prepared_key, digestmod=HMAC_DIGESTS[algorithm])

    def verify(self, msg: bytes, sig: bytes) -> bool:
        mac = self._keyed.copy()
        mac.update(msg)
        return hmac.compare_digest(mac.digest(), sig)


{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}


class PssKey(Key):
    """An RSA public key that verifies one PS* algorithm: RSASSA-PSS, MGF1, salt as long as the hash (RFC 7518 §3.5)."""

    def __init__(self, key: rsa.RSAPublicKey, algorithm: str) -> None:
        self._key = key
        self._hash = PSS_HASHES[algorithm]()
        self._padding = padding.PSS(mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        self._key.verify(sig, msg, self._padding, self._hash)
        return True


class RsaKey(CryptographyRSAKey):
    """python-jose's RSA key, verifying RS* (RSASSA-PKCS1-v1_5) with its padding and hash built once.

    python-jose's own ``verify`` builds both, and looks up the public key, on every call.
    """

    def __init__(self, key: str | bytes | dict[str, Any], algorithm: str) -> None:
        super().__init__(key, algorithm)
        prepared = self.prepared_key
        self._public: rsa.RSAPublicKey = prepared.public_key() if isinstance(prepared, rsa.RSAPrivateKey) else prepared
        self._padding = padding.PKCS1v15()
        self._hash = PKCS1_HASHES[algorithm]()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        self._public.verify(sig, msg, self._padding, self._hash)
        return True


class EcKey(CryptographyECKey):
    """python-jose's EC key, verifying ES* with the ECDSA parameters built once.

    python-jose's own ``verify`` builds them, and converts the signature in three calls, every time.
    """

    def __init__(self, key: str | bytes | dict[str, Any], algorithm: str) -> None:
        super().__init__(key, algorithm)
        prepared = self.prepared_key
        self._public: ec.EllipticCurvePublicKey = (
            prepared.public_key() if isinstance(prepared, ec.EllipticCurvePrivateKey) else prepared
        )
        self._half = (self._public.curve.key_size + 7) // 8
        self._ecdsa = ec.ECDSA(ECDSA_HASHES[algorithm]())

    def verify(self, msg: bytes, sig: bytes) -> bool:
        half = self._half
        if len(sig) != 2 * half:  # JWS carries r and s at fixed length (RFC 7518 §3.4)
            return False
        der = encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
        self._public.verify(der, msg, self._ecdsa)
        return True


class Ed25519Key(Key):
    """An Ed25519 public key that verifies EdDSA (RFC 8037)."""

    def __init__(self, key: ed25519.Ed25519PublicKey) -> None:
        self._key = key

    def verify(self, msg: bytes, sig: bytes) -> bool:
        self._key.verify(sig, msg)
        return True


def _jwk_bytes(jwk_dict: Mapping[str, Any], member: str) -> bytes:
    """A base64url member of a JWK, padded or not; raises ValueError when it is missing or not base64url."""
    value = jwk_dict.get(member)
    if not isinstance(value, str):
        raise TypeError(f"JWK member {member} is missing or not a string")
    unpadded = value.rstrip("=")
    standard = unpadded.replace("-", "+").replace("_", "/") + _PADDING[len(unpadded) % 4]
    return binascii.a2b_base64(standard, strict_mode=True)


def _public_key(jwk_dict: str | bytes | dict[str, Any], alg: str) -> SigningKey:
    """A verify-only key for a PS* or EdDSA public JWK, whose kty (and crv) must fit the algorithm."""
    if not isinstance(jwk_dict, dict):
        raise TypeError("a public JWK is needed")
    if alg == EDDSA:
        if jwk_dict.get("kty") != "OKP" or jwk_dict.get("crv") != "Ed25519":
            raise ValueError("EdDSA needs an OKP key on curve Ed25519")
        return Ed25519Key(ed25519.Ed25519PublicKey.from_public_bytes(_jwk_bytes(jwk_dict, "x")))
    if jwk_dict.get("kty") != "RSA":
        raise ValueError(f"{alg} needs an RSA key")
    exponent, modulus = (int.from_bytes(_jwk_bytes(jwk_dict, name), "big") for name in ("e", "n"))
    return PssKey(rsa.RSAPublicNumbers(exponent, modulus).public_key(), alg)
{%- endif %}


def load_key(material: str | bytes | dict[str, Any], alg: str) -> SigningKey:
    """Build a key object once, for one algorithm; raises ValueError on bad material.
{%- if cookiecutter.auth_mode == "jwks" or cookiecutter.login == "oidc" %}

    PS* and EdDSA keys are public JWKs only: the service verifies them, it never signs with them.
    """
    if isinstance(material, dict) and any(
        not isinstance(material[name], str) for name in JWK_KEY_MEMBERS & material.keys()
    ):
        # python-jose would turn an integer member into that many zero bytes.
        raise ValueError(f"unusable {alg} key: a key member is not a string")
    try:
        if alg in PSS_HASHES or alg == EDDSA:
            return _public_key(material, alg)
        if alg in HMAC_DIGESTS:
            return HmacKey(material, alg)
        if alg in PKCS1_HASHES:
            return RsaKey(material, alg)
        if alg in ECDSA_HASHES:
            return EcKey(material, alg)
{%- else %}"""
    try:
        if alg in HMAC_DIGESTS:
            return HmacKey(material, alg)
{%- endif %}
    except (JOSEError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ValueError(f"unusable {alg} key: {exc}") from None
    raise ValueError(f"unusable {alg} key: no such algorithm")


def sign(
    claims: Mapping[str, Any],
    key: SigningKey,
    alg: str,
    *,
    kid: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Serialise and sign claims as a compact JWS; ``headers`` adds header parameters."""
    header: dict[str, Any] = {"alg": alg, "typ": "JWT", **(headers or {})}
    if kid is not None:
        header["kid"] = kid
    signing_input = ".".join(
        _b64encode(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    )
    return f"{signing_input}.{_b64encode(key.sign(signing_input.encode('ascii')))}"
