"""A DPoP key holder (RFC 9449): a client's key pair, and the proofs it signs for each request."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.dpop import thumbprint, token_hash
from {{ cookiecutter.package_name }}.tokens import SigningKey

from .idp import private_pem

# What the test client's requests are addressed to, as a proof's htu names it.
URL = "http://testserver/me"


def b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def sign_raw(key: SigningKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS with exactly this header, so tests can leave out or change any member."""
    signing_input = ".".join(b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    return f"{signing_input}.{b64(key.sign(signing_input.encode('ascii')))}"


class Holder:
    """A client's DPoP key pair, and the proofs it signs."""

    def __init__(self, alg: str = "ES256", name: str = "holder") -> None:
        self.alg = alg
        self.key: SigningKey = tokens.load_key(private_pem(alg, f"dpop/{name}"), alg)
        self.jwk: dict[str, Any] = self.key.public_key().to_dict()
        self.jkt = thumbprint(self.jwk)

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk, **changes}
        return {name: value for name, value in header.items() if value is not None}

    def proof(
        self,
        token: str | None,
        *,
        method: str = "GET",
        url: str = URL,
        header: dict[str, Any] | None = None,
        **changes: Any,
    ) -> str:
        """A proof for one request, bound to ``token`` (None: a proof for the token request itself).

        Keywords replace claims, and None drops one.
        """
        claims: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
            "ath": None if token is None else token_hash(token),
            **changes,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return sign_raw(self.key, header or self.header(), claims)


def dpop(token: str, proof: str | None) -> dict[str, str]:
    """The headers of a request that presents ``token`` with a DPoP proof (or, with None, without one)."""
    headers = {"Authorization": f"DPoP {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return headers
