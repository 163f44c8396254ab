"""The path every request takes: cache, shape, signature, claims.

``Authenticator`` is mode-agnostic; the mode decides only how a signature is
checked, through the ``SignatureCheck`` that ``keys.py`` provides.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from fastapi import FastAPI

from . import tokens
from .settings import AuthSettings
from .tokens import ParsedToken, TokenClaims


class KeyUnavailableError(Exception):
    """No signing key can be had right now; the request gets 503 with Retry-After."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class SignatureCheck(Protocol):
    """What an auth mode supplies: its algorithms and how it checks a signature."""

    algorithms: frozenset[str]
    require_exp: bool

    def key_generation(self) -> int:
        """Changes whenever the keys change, so that tokens verified with old keys are verified again."""
        ...

    @property
    def ready(self) -> bool: ...

    async def check(self, token: ParsedToken) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    def install(self, app: FastAPI) -> None: ...


class VerifiedTokenCache:
    """A bounded LRU of verified claims keyed by the exact token string.

    Only tokens that passed every check enter it, and the strict parser gives
    each token a single spelling, so junk cannot fill it. Hits are re-checked
    against ``exp`` and ``nbf`` by the caller.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, TokenClaims] = OrderedDict()

    def get(self, token: str) -> TokenClaims | None:
        claims = self._entries.get(token)
        if claims is not None:
            self._entries.move_to_end(token)
        return claims

    def put(self, token: str, claims: TokenClaims) -> None:
        if self._size <= 0:
            return
        self._entries[token] = claims
        self._entries.move_to_end(token)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def claim_rules(settings: AuthSettings, *, require_exp: bool) -> tokens.ClaimRules:
    """Turn the settings into the rules ``validate_claims`` applies."""
    issuers = (settings.issuer, *settings.extra_issuers) if settings.issuer else settings.extra_issuers
    return tokens.ClaimRules(
        issuers=frozenset(issuers),
        audience=settings.audience,
        leeway=settings.leeway_seconds,
        require_exp=require_exp,
        scope_paths=tuple(tuple(name.split(".")) for name in settings.scope_claims),
        audience_claim=settings.audience_claim,
        required=tuple((name, value) for name, _, value in (pair.partition("=") for pair in settings.required_claims)),
    )


class Authenticator:
    """Turn a bearer token into verified claims, or raise ``InvalidTokenError``/``KeyUnavailableError``."""

    def __init__(self, settings: AuthSettings, signatures: SignatureCheck) -> None:
        self.settings = settings
        self.signatures = signatures
        self.cache = VerifiedTokenCache(settings.token_cache_size)
        self.rules = claim_rules(settings, require_exp=signatures.require_exp)
        self._key_generation = 0

    async def authenticate(self, token: str) -> TokenClaims:
        """Verify a token: signature first, then every claim."""
        settings = self.settings
        key_generation = self.signatures.key_generation()
        if key_generation != self._key_generation:
            self.cache.clear()
            self._key_generation = key_generation
        cached = self.cache.get(token)
        if cached is not None:
            if tokens.still_valid(cached, leeway=settings.leeway_seconds):
                return cached
            self.cache.discard(token)
            raise tokens.InvalidTokenError("expired")
        parsed = tokens.parse(token, max_bytes=settings.max_token_bytes, algorithms=self.signatures.algorithms)
        await self.signatures.check(parsed)
        claims = tokens.validate_claims(parsed.claims, self.rules)
        self.cache.put(token, claims)
        return claims
