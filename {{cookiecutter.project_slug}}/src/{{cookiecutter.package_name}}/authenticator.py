"""The path every request takes: cache, shape, signature, claims.

``Authenticator`` is the same in every mode; the mode decides only how a
signature is checked, through the ``Verifier`` that ``verifier.py`` provides.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Protocol

from . import tokens
from .claims import TokenClaims, claim_rules, validate_claims
from .errors import InvalidTokenError
from .log_throttle import LogThrottle
from .presentation import BearerOnly, Presentation
from .settings import AuthSettings
from .tokens import ParsedToken

# What a cached entry is counted as (see ``VerifiedTokenCache.entry_bytes``).
ENTRY_BYTES = 2048
BYTES_PER_CHARACTER = 8
BYTES_PER_SCOPE = 96


class Verifier(Protocol):
    """What an auth mode supplies: its algorithms and how it checks a signature."""

    algorithms: frozenset[str]
    require_exp: bool
    # Whether keys can change while the service runs; if not, a cache hit never asks about them.
    rotates_keys: bool

    def key_generation(self) -> int:
        """Changes whenever the keys change, so that tokens verified with old keys are verified again."""
        ...

    def is_ready(self) -> bool:
        """Whether tokens can be verified right now."""
        ...

    def refresh_if_due(self) -> None:
        """Start whatever the key policy says is due (a refresh past the TTL); never waits."""

    async def check(self, token: ParsedToken) -> None:
        """Raise ``InvalidTokenError`` unless the token's signature is good."""

    async def start(self) -> None:
        """Get ready to verify (fetch keys, say what the mode is); called once at start-up."""

    async def aclose(self) -> None:
        """Release what ``start`` acquired."""


class VerifiedTokenCache:
    """A bounded LRU of verified claims keyed by the exact token string.

    Only tokens that passed every check enter it, and the strict parser gives
    each token a single spelling, so junk cannot fill it. A hit is re-checked
    only against ``exp`` and ``nbf``, as bounds worked out when the entry was
    made; everything else (signature, ``typ``, lifetime, ID-token markers)
    cannot change and is not checked again. It holds at most ``size`` entries,
    and at most ``max_bytes`` as ``entry_bytes`` counts them.
    """

    def __init__(self, size: int, max_bytes: int, *, leeway: float = 0) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._leeway = leeway
        # token -> (claims, valid from, valid until, counted bytes)
        self._entries: OrderedDict[str, tuple[TokenClaims, float, float, int]] = OrderedDict()
        self.nbytes = 0

    @staticmethod
    def entry_bytes(token: str, claims: TokenClaims) -> int:
        """An upper estimate of an entry's memory: the token, its claims and the bookkeeping.

        Measured with tracemalloc, tokens as providers issue them take 3 to 6 bytes
        per character (each scope adds a string and a set slot); the margin covers
        claims of thousands of short strings.
        """
        return ENTRY_BYTES + BYTES_PER_CHARACTER * len(token) + BYTES_PER_SCOPE * len(claims.scopes)

    def get(self, token: str) -> TokenClaims | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        self._entries.move_to_end(token)
        return entry[0]

    def checked(self, token: str) -> TokenClaims | None:
        """The claims of a cached token inside its ``nbf``/``exp`` window; None if not cached.

        One dictionary lookup and one comparison. A token past its window is dropped and refused
        with ``InvalidTokenError``.
        """
        entry = self._entries.get(token)
        if entry is None:
            return None
        claims, valid_from, valid_until, _ = entry
        if valid_from <= time.time() < valid_until:
            self._entries.move_to_end(token)
            return claims
        self.discard(token)
        raise InvalidTokenError("expired")

    def put(self, token: str, claims: TokenClaims) -> None:
        cost = self.entry_bytes(token, claims)
        if self._size <= 0 or cost > self._max_bytes:
            return
        entries = self._entries
        replaced = entries.pop(token, None)
        # The window a hit must be in, as two bounds: nbf - leeway <= now < exp + leeway.
        valid_from = -math.inf if claims.nbf is None else claims.nbf - self._leeway
        valid_until = math.inf if claims.exp is None else claims.exp + self._leeway
        entries[token] = (claims, valid_from, valid_until, cost)
        self.nbytes += cost - (0 if replaced is None else replaced[3])
        while len(entries) > self._size or self.nbytes > self._max_bytes:
            self.nbytes -= entries.popitem(last=False)[1][3]

    def discard(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is not None:
            self.nbytes -= entry[3]

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)


class Authenticator:
    """Turn a bearer token into verified claims, or raise ``InvalidTokenError``/``KeyUnavailableError``."""

    def __init__(self, settings: AuthSettings, verifier: Verifier, presentation: Presentation | None = None) -> None:
        self.settings = settings
        self.verifier = verifier
        self.presentation: Presentation = presentation or BearerOnly()
        self.cache = VerifiedTokenCache(
            settings.token_cache_size, settings.token_cache_bytes, leeway=settings.leeway_seconds
        )
        self.rules = claim_rules(settings, require_exp=verifier.require_exp)
        self._types = tokens.AT_JWT_ONLY if settings.require_at_jwt else tokens.ACCESS_TOKEN_TYPES
        self.log_throttle = LogThrottle(settings.log_repeat_seconds)
        self._key_generation = 0
        self._rotates_keys = verifier.rotates_keys
        self._max_token_bytes = settings.max_token_bytes
        self._algorithms = verifier.algorithms

    async def authenticate(self, token: str) -> TokenClaims:
        """Verify a token: signature first, then every claim; a token verified before is only re-checked."""
        claims = self.cached(token)
        return claims if claims is not None else await self.verify(token)

    def cached(self, token: str) -> TokenClaims | None:
        """The claims of a token verified before, re-checked against ``exp``/``nbf``; None when not cached.

        Synchronous, so that a repeated token costs ``has_access`` no coroutine.
        """
        if self._rotates_keys:
            verifier = self.verifier
            verifier.refresh_if_due()
            key_generation = verifier.key_generation()
            if key_generation != self._key_generation:
                self.cache.clear()
                self._key_generation = key_generation
        return self.cache.checked(token)

    def refusal_now(self, claims: TokenClaims) -> str | None:
        """The log-safe reason why claims verified earlier are refused now, or None (never, here).

        For what outlives one request, such as a WebSocket, which asks before each message it answers.
        """
        return None

    async def verify(self, token: str) -> TokenClaims:
        """Check a token not seen before (shape, signature, claims) and remember it."""
        parsed = tokens.parse(token, max_bytes=self._max_token_bytes, algorithms=self._algorithms, types=self._types)
        await self.verifier.check(parsed)
        claims = validate_claims(parsed.claims, self.rules)
        self.cache.put(token, claims)
        return claims
