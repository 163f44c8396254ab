"""The service's own access tokens: HS256 with ``AUTH_SECRET``, ``typ: at+jwt`` (RFC 9068).

They carry ``iss``, ``aud``, ``sub`` (the user's stable id), ``iat``, ``exp``,
a random ``jti``, ``sid`` (the login they belong to) and ``scope``, and pass
the same ``has_access`` checks as any other token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from . import tokens
from .login_settings import LoginSettings
from .verifier import ALGORITHM, signing_key


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    jti: str
    expires_at: int


class AccessTokenSigner:
    """Sign access tokens with the key ``has_access`` verifies them with."""

    def __init__(self, settings: LoginSettings) -> None:
        self._key = signing_key(settings)
        self.issuer = settings.issuer
        self.audience = settings.audience
        self.ttl = settings.access_token_ttl

    def sign(self, user_id: str, session_id: str, scopes: str, *, now: int, not_before: int) -> AccessToken:
        """An access token for ``user_id``, valid ``ttl`` seconds from ``now``.

        ``iat`` is never earlier than the user's not-before second, so a token issued
        right after ``users revoke`` (or a password change) is not refused by it.
        """
        jti = secrets.token_urlsafe(16)
        claims: dict[str, Any] = {"sub": user_id, "iat": max(now, not_before), "exp": now + self.ttl, "jti": jti}
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        claims["sid"] = session_id
        if scopes:
            claims["scope"] = scopes
        token = tokens.sign(claims, self._key, ALGORITHM, headers={"typ": "at+jwt"})
        return AccessToken(token, jti, now + self.ttl)
