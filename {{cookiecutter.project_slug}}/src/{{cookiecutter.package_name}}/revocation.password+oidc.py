"""The revocation view: logged-out access tokens and per-user "not before" times, held in memory.

``has_access`` consults it on every request, after the verified-token cache
too, with two dictionary lookups: verification never waits on the database.
``RevocationWatcher`` keeps it current from the database: pushed by
PostgreSQL ``LISTEN``/``NOTIFY``, polled on SQLite.
"""

from __future__ import annotations

from .authenticator import Authenticator, Verifier
from .claims import TokenClaims
from .errors import InvalidTokenError
from .settings import AuthSettings


class RevocationView:
    """What this worker knows has been revoked; entries drop out once they can no longer matter."""

    def __init__(self) -> None:
        # jti -> until when a logged-out access token is refused: its exp plus the leeway, while it could pass.
        # By jti alone: this service gives each token 128 random bits, and an issuer it named may since have
        # become an alias of a new one.
        self.denied: dict[str, int] = {}
        # user id -> tokens issued (iat) before this epoch second are refused.
        self.not_before: dict[str, int] = {}

    def deny(self, jti: str, refused_until: int) -> None:
        self.denied[jti] = max(refused_until, self.denied.get(jti, 0))

    def set_not_before(self, user_id: str, not_before: int) -> None:
        if not_before > self.not_before.get(user_id, 0):
            self.not_before[user_id] = not_before

    def merge(self, denied: dict[str, int], not_before: dict[str, int], *, now: float) -> None:
        """Add what was read from the database, and forget logged-out tokens that could no longer pass anyway."""
        merged = {**self.denied, **denied}
        self.denied = {jti: until for jti, until in merged.items() if until > now}
        for user_id, value in not_before.items():
            self.set_not_before(user_id, value)

    def refusal(self, claims: TokenClaims) -> str | None:
        """The log-safe reason to refuse these verified claims, or None."""
        raw = claims.raw
        jti = raw.get("jti")
        if isinstance(jti, str) and jti in self.denied:
            return "revoked"
        not_before = self.not_before.get(claims.sub)
        if not_before is not None:
            iat = raw.get("iat")
            if not isinstance(iat, int | float) or iat < not_before:
                return "revoked_user"
        return None


class RevocationCheckingAuthenticator(Authenticator):
    """The usual ``Authenticator``, then the revocation view, whether the claims came from the cache or not."""

    def __init__(self, settings: AuthSettings, verifier: Verifier, revocations: RevocationView) -> None:
        super().__init__(settings, verifier)
        self.revocations = revocations

    def cached(self, token: str) -> TokenClaims | None:
        claims = super().cached(token)
        if claims is not None:
            self._refuse_revoked(claims)
        return claims

    async def verify(self, token: str) -> TokenClaims:
        claims = await super().verify(token)
        self._refuse_revoked(claims)
        return claims

    def refusal_now(self, claims: TokenClaims) -> str | None:
        return self.revocations.refusal(claims)

    def _refuse_revoked(self, claims: TokenClaims) -> None:
        reason = self.refusal_now(claims)
        if reason is not None:
            raise InvalidTokenError(reason)
