"""Helpers shared by the tests of every auth mode: one of each, imported from here."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import uvicorn
from fastapi import FastAPI

from {{ cookiecutter.package_name }}.settings import AuthSettings
from {{ cookiecutter.package_name }}.tokens import SigningKey

ISSUER = "https://issuer.test"
AUDIENCE = "api://test"

# The ``mint`` fixture: sign a token the service accepts; keywords as for ``access_claims``.
Mint = Callable[..., str]
# The ``make_app`` fixture: the app built with some settings changed, e.g. ``make_app(token_cache_size=0)``.
AppFactory = Callable[..., FastAPI]


def bearer(token: str) -> dict[str, str]:
    """The request headers that present ``token``."""
    return {"Authorization": f"Bearer {token}"}


class Signer(NamedTuple):
    """How test tokens are signed: key object, algorithm and optional ``kid``."""

    key: SigningKey
    alg: str
    kid: str | None = None


def nested(path: str, value: object) -> dict[str, Any]:
    """A claim at a dotted path: ``realm_access.roles`` → ``{"realm_access": {"roles": value}}``."""
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


def access_claims(settings: AuthSettings, *, scopes: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token under ``settings``' claim mapping.

    ``audience=`` sets the configured audience claim, ``scopes=`` the first
    configured scope claim; other keywords replace claims, and None drops one.
    """
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "alice", "iss": settings.issuer, "iat": now, "exp": now + 300}
    claims[settings.audience_claim] = overrides.pop("audience", settings.audience)
    for pair in settings.required_claims:
        name, _, value = pair.partition("=")
        claims[name] = value
    if settings.access_token_claims:  # the client an access token was issued to (Entra ID: azp)
        claims[settings.access_token_claims[0]] = "a-client"
    if scopes is not None:
        claims.update(nested(settings.scope_claims[0], scopes))
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed(signer: Signer, claims: Mapping[str, Any], **header: object) -> str:
    """A token whose header is exactly ``alg``, ``kid`` and ``header``: no ``typ`` unless given."""
    fields: dict[str, object] = {"alg": signer.alg, **({"kid": signer.kid} if signer.kid else {}), **header}
    signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (fields, claims))
    return f"{signing_input}.{_b64(signer.key.sign(signing_input.encode('ascii')))}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: FastAPI, port: int | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on 127.0.0.1 (a free port unless given); yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
