"""A stand-in OpenID provider served over real HTTP on 127.0.0.1.

It serves discovery and a JWKS, counts requests per path, and can rotate its
keys, fail, hang or return junk, so the tests exercise the real HTTP client.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.tokens import PSS_HASHES, SigningKey

from .support import Signer

Behaviour = Literal["ok", "error", "hang", "junk", "huge"]
CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}


@dataclass
class ProviderKey:
    """A signing key of the provider: private half for the tests, public JWK for the JWKS."""

    signer: Signer
    jwk: dict[str, Any]
    private: Any  # the cryptography private key, to sign with it otherwise than its JWK says


class CryptographySigner(SigningKey):
    """Signs test tokens for what python-jose cannot: PS* (RSASSA-PSS) and EdDSA (Ed25519).

    The service only verifies these algorithms, so signing them is the tests' business.
    """

    def __init__(self, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, alg: str) -> None:
        self.key = key
        self.alg = alg

    def sign(self, msg: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(msg)
        digest = PSS_HASHES[self.alg]()
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return self.key.sign(msg, pss, digest)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rsa_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


def okp_jwk(key: ed25519.Ed25519PublicKey) -> dict[str, Any]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(key.public_bytes_raw())}


@functools.cache
def private_key(alg: str, name: str, rsa_bits: int = 2048) -> Any:
    """A private key for ``alg``, made once per test session and ``name``."""
    if alg.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(CURVES[alg]())


def private_pem(alg: str, name: str, rsa_bits: int = 2048) -> bytes:
    """The private key ``private_key`` gives, in PEM form, for python-jose."""
    key = private_key(alg, name, rsa_bits)
    return bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def make_key(alg: str, kid: str, *, owner: str, rsa_bits: int = 2048) -> ProviderKey:
    """A provider key for any jwks algorithm, and its public JWK as a provider publishes it."""
    private = private_key(alg, f"{owner}/{kid}", rsa_bits)
    signing: SigningKey
    if alg in PSS_HASHES or alg == "EdDSA":
        signing = CryptographySigner(private, alg)
        public = rsa_jwk(private.public_key()) if alg in PSS_HASHES else okp_jwk(private.public_key())
        jwk = {**public, "alg": alg}
    else:
        signing = tokens.load_key(private_pem(alg, f"{owner}/{kid}", rsa_bits), alg)
        jwk = signing.public_key().to_dict()
    return ProviderKey(Signer(signing, alg, kid), {**jwk, "kid": kid, "use": "sig"}, private)


class Provider:
    """Discovery at ``/.well-known/openid-configuration`` and keys at ``/jwks``."""

    def __init__(self, name: str = "provider", *, port: int = 0) -> None:
        """``port``: 0 for any free one, or the port of a provider that stopped, to play its restart."""
        self.name = name
        self.keys: list[ProviderKey] = []
        self.extra_jwks_entries: list[Any] = []
        self.behaviour: Behaviour = "ok"
        self.hang_seconds = 10.0
        self.cache_control = "max-age=600"
        self.requests: Counter[str] = Counter()
        self.advertised_issuer: str | None = None
        self.advertised_jwks_uri: str | None = None  # another provider's, as issuers sharing one key set do
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.jwks_url = f"{self.issuer}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> Provider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def add_key(self, alg: str = "RS256", kid: str | None = None, *, rsa_bits: int = 2048) -> Signer:
        key = make_key(alg, kid or f"key-{len(self.keys) + 1}", owner=self.name, rsa_bits=rsa_bits)
        self.keys.append(key)
        return key.signer

    def rotate(self, alg: str = "RS256") -> Signer:
        """Replace every key by a new one, as a provider's key rotation does."""
        key = make_key(alg, f"rotated-{self.requests['/jwks']}", owner=self.name)
        self.keys = [key]
        return key.signer

    def documents(self, path: str) -> dict[str, Any] | None:
        if path == "/.well-known/openid-configuration":
            return {
                "issuer": self.advertised_issuer or self.issuer,
                "jwks_uri": self.advertised_jwks_uri or self.jwks_url,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
            }
        if path == "/jwks":
            return {"keys": [key.jwk for key in self.keys] + self.extra_jwks_entries}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests[self.path] += 1
                document = provider.documents(self.path)
                if provider.behaviour == "hang":
                    provider._release.wait(provider.hang_seconds)
                if document is None or provider.behaviour == "error":
                    self._reply(404 if document is None else 500, b"{}")
                elif provider.behaviour == "junk":
                    self._reply(200, b"<html>not json")
                elif provider.behaviour == "huge":
                    self._reply(200, b'{"keys": [' + b'{"kty": "oct"},' * 200_000 + b"{}]}")
                else:
                    self._reply(200, json.dumps(document).encode())

            def _reply(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Cache-Control", provider.cache_control)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout); nothing to do

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler
