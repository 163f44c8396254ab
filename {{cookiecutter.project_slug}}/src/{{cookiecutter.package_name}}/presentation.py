"""How a token is presented: the ``Authorization`` schemes a request may use, and the challenges we answer.

Every mode accepts ``Authorization: Bearer <token>``. A token bound to a key
(``cnf.jkt``, RFC 9449) is never honoured as a bearer token: whoever holds
only its text must not be able to use it.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import HTTPConnection
from starlette.types import Scope

from .claims import TokenClaims
from .errors import InvalidRequestError, InvalidTokenError

SCHEMES = frozenset({"bearer", "dpop"})


def credentials(scope: Scope) -> tuple[str, str] | None:
    """The (lower-case scheme, token) of the request's one ``Authorization`` header; None without a usable one.

    Two ``Authorization`` headers raise ``InvalidRequestError``: RFC 6750 §3.1 answers them 400.
    """
    # The ASGI header list itself (names are lower case): Starlette's Headers.getlist costs as much as a cache hit.
    found = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if found is not None:
                raise InvalidRequestError("authorization_repeated")
            found = value
    if found is None:
        return None
    scheme, _, token = found.decode("latin-1").partition(" ")
    scheme = scheme.lower()
    if scheme not in SCHEMES or not token or token != token.strip(" "):
        return None
    return scheme, token


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of one request header, from the ASGI header list (whose names are lower case)."""
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def bearer_challenge(error: str | None = None, scope: str | None = None) -> str:
    """An RFC 6750 §3 ``Bearer`` challenge."""
    params = [f'error="{error}"'] if error else []
    if scope is not None:
        params.append(f'scope="{scope}"')
    return "Bearer" + (" " + ", ".join(params) if params else "")


class Presentation(Protocol):
    """Which schemes a request may use, what proof each needs, and how refusals are worded."""

    schemes: frozenset[str]

    def check(self, conn: HTTPConnection, scheme: str, token: str, claims: TokenClaims) -> None:
        """Raise ``InvalidTokenError`` or ``InvalidProofError`` unless the token is presented as it must be.

        Not called for a token without ``cnf.jkt`` sent as Bearer: every presentation takes that as it is.
        """

    def challenge(self, scheme: str | None, error: str | None = None, scope: str | None = None) -> str:
        """The ``WWW-Authenticate`` value for a refusal of a request that used ``scheme`` (None: no token)."""
        ...


class BearerOnly:
    """``Authorization: Bearer`` only (RFC 6750)."""

    schemes = frozenset({"bearer"})

    def check(self, conn: HTTPConnection, scheme: str, token: str, claims: TokenClaims) -> None:
        if claims.jkt is not None:
            raise InvalidTokenError("bound_token_as_bearer")

    def challenge(self, scheme: str | None, error: str | None = None, scope: str | None = None) -> str:
        return bearer_challenge(error, scope)
