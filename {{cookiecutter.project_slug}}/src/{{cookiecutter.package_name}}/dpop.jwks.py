"""DPoP (RFC 9449): tokens bound to a key the client proves it holds, on every request.

With ``AUTH_DPOP=allowed`` a request may present ``Authorization: DPoP <token>``
with a ``DPoP`` proof header, beside plain Bearer tokens; with ``required`` it
must. A proof is checked as RFC 9449 §4.3 says: a JWS of ``typ`` ``dpop+jwt``
signed by the public ``jwk`` in its header, for this request's method and URL,
recent, never seen before, and hashing this access token; the token's
``cnf.jkt`` must be that key's thumbprint (RFC 7638).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from starlette.datastructures import URL
from starlette.requests import HTTPConnection
from starlette.types import Scope

from . import tokens
from .claims import TokenClaims
from .errors import InvalidProofError, InvalidTokenError
from .jwks_cache import check_key_fits
from .presentation import bearer_challenge, header_values
from .verifier import Settings

logger = logging.getLogger(__name__)

PROOF_TYPE = "dpop+jwt"
PROOF_TYPES: frozenset[str | None] = frozenset({PROOF_TYPE})
MAX_PROOF_BYTES = 4096
MAX_JTI_LENGTH = 256
MAX_PROOF_KEYS = 1024
# RFC 7638 §3.2: the members a thumbprint covers, per key type.
THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "EdDSA": "Ed25519"}
DEFAULT_PORTS = {"http": 80, "https": 443}
WEB_SCHEMES = {"ws": "http", "wss": "https"}
# RFC 3986 §2.3, and what a path may hold unencoded besides (pchar, "/", and "%" of the escapes themselves).
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK; ``ValueError`` if it lacks a required member."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError("unusable jwk")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def token_hash(token: str) -> str:
    """The ``ath`` of an access token: base64url of its SHA-256."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def _unreserved_or_upper(escape: re.Match[str]) -> str:
    character = chr(int(escape[1], 16))
    return character if character in UNRESERVED else f"%{escape[1].upper()}"


def normal_path(path: str) -> str:
    """A URL path as RFC 3986 §6.2.2 compares it.

    Characters that a URI cannot hold as they are (a space, non-ASCII) are percent-encoded as a client's
    URL library would; escapes of unreserved characters are decoded and the others written in upper case;
    dot segments are removed (§5.2.4).
    """
    path = PERCENT_ESCAPE.sub(_unreserved_or_upper, quote(path, safe=PATH_SAFE))
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if len(kept) > 1:  # never above the root: kept[0] is the empty segment before the first "/"
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # "/a/." names "/a/"
    return "/".join(kept) or "/"


@functools.lru_cache(maxsize=1024)  # a client names the same few URLs in all its proofs
def normal_url(url: str) -> tuple[str, str, int | None, str] | None:
    """Scheme, host, port and path of an absolute URL as RFC 3986 §6 compares them; None if not absolute."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = WEB_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), None if port == DEFAULT_PORTS[scheme] else port, normal_path(parts.path)


@functools.lru_cache(maxsize=1024)  # a service answers on a few hosts and, mostly, a few paths
def request_target(
    scheme: str, host: str | None, server: tuple[str, int] | None, path: str, public_url: str | None
) -> tuple[str, str, int | None, str] | None:
    """The normal form of the URL a request was sent to, as Starlette reads it from these scope members.

    ``path`` is percent-encoded, as the client sent it. Behind a proxy, ``public_url`` (the service's
    external base URL) stands for scheme, host and port.
    """
    headers = [(b"host", host.encode("latin-1"))] if host else []
    url = URL(scope={"scheme": scheme, "server": server, "path": path, "headers": headers})
    # normal_url keeps only scheme, host, port and path: there is no query to cut off.
    return normal_url(str(url) if public_url is None else public_url + url.path)


def sent_path(scope: Scope) -> str:
    """The request's path as the client spelled it: ``raw_path`` when the server gives it, else re-encoded."""
    path: str = scope["path"]
    raw: bytes | None = scope.get("raw_path")
    if raw:
        sent = raw.decode("latin-1")
        if unquote(sent) == path:  # not rewritten on the way (a mount, a middleware): the client's own spelling
            return sent
    return quote(path, safe=PATH_SAFE)


class ReplayCache:
    """Proof identifiers seen within the proof window: bounded, oldest first out once expired."""

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_sighting(self, key: str, now: float) -> bool:
        """Record ``key``; False if it was seen within the window. Raises when full of live entries."""
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        if len(self._seen) >= self._size:
            # Fail closed: forgetting a live jti would let its proof be replayed.
            logger.warning("dpop replay cache full size=%d", self._size)
            raise InvalidProofError("replay_cache_full")
        self._seen[key] = now + self._ttl
        return True


class DpopPresentation:
    """Bearer and/or DPoP, as ``AUTH_DPOP`` says; challenges per RFC 9449 §7.1."""

    def __init__(self, settings: Settings) -> None:
        self.mode = settings.dpop
        self.schemes = frozenset({"off": {"bearer"}, "allowed": {"bearer", "dpop"}, "required": {"dpop"}}[self.mode])
        self.algorithms = frozenset(settings.dpop_algorithms)
        self._algs = " ".join(sorted(self.algorithms))
        self._max_age = settings.dpop_proof_max_age_seconds
        self._leeway = settings.leeway_seconds
        self._public_url = settings.dpop_public_url
        self._seen = ReplayCache(settings.dpop_replay_cache_size, self._max_age + 2 * self._leeway)
        # Proof keys and their thumbprints by the proof header's text, which holds the key.
        self._keys: dict[str, tuple[tokens.SigningKey, str]] = {}

    def challenge(self, scheme: str | None, error: str | None = None, scope: str | None = None) -> str:
        if self.mode == "off" or scheme == "bearer":
            return bearer_challenge(error, scope)
        params = [f'error="{error}"'] if error else []
        if scope is not None:
            params.append(f'scope="{scope}"')
        dpop = "DPoP " + ", ".join([*params, f'algs="{self._algs}"'])
        return f"{bearer_challenge(error, scope)}, {dpop}" if scheme is None and self.mode == "allowed" else dpop

    def check(self, conn: HTTPConnection, scheme: str, token: str, claims: TokenClaims) -> None:
        if scheme == "bearer":
            if claims.jkt is not None:
                raise InvalidTokenError("bound_token_as_bearer")
            return
        if claims.jkt is None:
            raise InvalidTokenError("unbound_token_as_dpop")
        proofs = header_values(conn.scope, b"dpop")
        if len(proofs) != 1:
            raise InvalidProofError("proof_missing" if not proofs else "proof_repeated")
        self._check_proof(conn, proofs[0], token, claims.jkt)

    def _check_proof(self, conn: HTTPConnection, text: str, token: str, jkt: str) -> None:
        try:
            proof = tokens.parse(text, max_bytes=MAX_PROOF_BYTES, algorithms=self.algorithms, types=PROOF_TYPES)
        except InvalidTokenError as exc:
            raise InvalidProofError(f"proof_{exc.reason}") from None
        key = self._proof_key(proof, text.partition(".")[0], jkt)
        claims = proof.claims
        try:
            tokens.verify_signature(proof, key)
        except InvalidTokenError:
            raise InvalidProofError("proof_signature") from None
        self._check_claims(conn, claims, token)
        if not self._seen.first_sighting(f"{jkt}:{claims['jti']}", time.monotonic()):
            raise InvalidProofError("proof_replayed")

    def _proof_key(self, proof: tokens.ParsedToken, header_text: str, jkt: str) -> tokens.SigningKey:
        """The proof's own public key, which must be the token's (``jkt``); built once per header.

        The thumbprint is compared before any key is built or signature checked, so a proof
        with a key the token is not bound to costs one hash.
        """
        known = self._keys.get(header_text)
        if known is None:
            header = proof.header
            if header.get("typ") != PROOF_TYPE:
                raise InvalidProofError("proof_typ")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or PRIVATE_MEMBERS.intersection(jwk):
                raise InvalidProofError("proof_jwk")
            kty, crv = jwk.get("kty"), jwk.get("crv")
            if kty != KEY_TYPES.get(proof.alg[:2]) or crv != CURVES.get(proof.alg):
                raise InvalidProofError("proof_jwk_type")
            try:
                key_thumbprint = thumbprint(jwk)  # its members must be strings
            except ValueError:
                raise InvalidProofError("proof_jwk") from None
            if key_thumbprint != jkt:
                raise InvalidProofError("proof_key_mismatch")
            try:
                check_key_fits(jwk, str(kty), proof.alg, crv)  # as a provider's keys: sizes bounded
                known = tokens.load_key(jwk, proof.alg), key_thumbprint
            except ValueError:
                raise InvalidProofError("proof_jwk") from None
            if len(self._keys) >= MAX_PROOF_KEYS:
                self._keys.clear()  # bounded: a flood of keys only costs its own key building
            self._keys[header_text] = known
        elif known[1] != jkt:
            raise InvalidProofError("proof_key_mismatch")
        return known[0]

    def _check_claims(self, conn: HTTPConnection, claims: dict[str, Any], token: str) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidProofError("proof_jti")
        method = conn.scope.get("method", "GET")
        if claims.get("htm") != method:
            raise InvalidProofError("proof_htm")
        htu = claims.get("htu")
        if not isinstance(htu, str) or normal_url(htu) != self._request_target(conn.scope):
            raise InvalidProofError("proof_htu")
        iat = claims.get("iat")
        now = time.time()
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise InvalidProofError("proof_iat")
        if not now - self._max_age - self._leeway <= iat <= now + self._leeway:
            raise InvalidProofError("proof_iat_window")
        if claims.get("ath") != token_hash(token):
            raise InvalidProofError("proof_ath")

    def _request_target(self, scope: Scope) -> tuple[str, str, int | None, str] | None:
        """The normal form of the URL the client sent the request to, memoised by what it is made of."""
        hosts = header_values(scope, b"host")
        host = hosts[0] if hosts else None  # the first, as Starlette reads it
        server = scope.get("server")
        server = None if server is None else tuple(server)  # hashable, for the memo
        return request_target(scope.get("scheme", "http"), host, server, sent_path(scope), self._public_url)
