"""Signing keys from an identity provider: OIDC discovery, JWKS fetch and cache.

Policy, in short (the README has the table):

* every key of the document (under the byte cap) is indexed by ``(kid, alg)``,
  and built into a key object the first time a token names it;
* one fetch at a time (single flight), whatever the number of waiting requests;
* refreshed after a TTL taken from ``Cache-Control: max-age`` within bounds,
  in the background, while the old keys keep serving;
* an unknown ``kid`` triggers a refetch at once, from a budget of its own:
  a small burst, then one per cooldown;
* when the provider fails, cached keys keep working up to a maximum stale age;
  with no usable key at all, requests get 503 with ``Retry-After`` and a
  background task retries with backoff until keys are back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from . import tokens
from .errors import InvalidTokenError, KeyUnavailableError
from .tokens import SigningKey

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_RSA_BITS = 2048
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
EDDSA = "EdDSA"
COORDINATE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66, "Ed25519": 32}
# Retries while no usable key is held start at the failure backoff and double up to this.
MAX_RETRY_DELAY = 60.0
MIN_RETRY_DELAY = 0.1
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


def check_url(url: str) -> str:
    """Accept https URLs, and http only on loopback (for local testing)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
    if not parts.hostname or not secure:
        raise ValueError(f"{url!r} must be an https URL (http is allowed only on loopback)")
    return url


class FetchError(Exception):
    """The provider did not give us a usable document; ``str(exc)`` is a log-safe reason."""


@dataclass(frozen=True)
class JwksPolicy:
    """Timings and limits of the cache, all in seconds or bytes."""

    default_ttl: float = 600
    min_ttl: float = 60
    max_ttl: float = 86400
    refetch_cooldown: float = 30
    refetch_burst: int = 3
    failure_backoff: float = 5
    max_stale: float = 21600
    http_timeout: float = 3
    max_bytes: int = 256 * 1024


@dataclass
class KeySet:
    """The usable keys of one JWKS document, and when it goes stale.

    Every usable key of the document is indexed by ``(kid, alg)`` as its public
    JWK members, and built into a key object the first time a token names it:
    a thousand-key document costs one dict, and a key object per key in use.
    """

    members: dict[tuple[str | None, str], dict[str, Any]]
    fetched_at: float
    expires_at: float
    # The public key material, to tell a changed key set from a re-fetched one.
    fingerprint: frozenset[str] = frozenset()
    # For tokens without a kid: the one key of each algorithm that has exactly one.
    sole: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    built: dict[tuple[str | None, str], SigningKey] = field(default_factory=dict)

    def find(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key for a token's ``kid`` and ``alg``; without a kid, only an unambiguous one."""
        name = (kid, alg) if kid is not None else self.sole.get(alg)
        if name is None:
            return None
        key = self.built.get(name)
        if key is None and name in self.members:
            key = self._build(name)
        return key

    def _build(self, name: tuple[str | None, str]) -> SigningKey | None:
        try:
            key = self.built[name] = tokens.load_key(self.members[name], name[1])
        except ValueError:
            logger.warning("jwks key skipped kid=%r reason=unparseable", name[0])
            del self.members[name]
            return None
        return key


def _b64_bytes(jwk: Mapping[str, Any], name: str) -> bytes:
    """A JWK member's bytes; ``ValueError`` unless it is base64url text."""
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError("malformed")  # noqa: TRY004 (the reason code of a skipped key, not a type error)
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("malformed") from None


def _coordinates_fit(jwk: Mapping[str, Any], names: tuple[str, ...], crv: str) -> None:
    # Shorter is tolerated: some providers drop leading zero bytes (RFC 7518 says not to); building checks the point.
    if any(not 0 < len(_b64_bytes(jwk, name)) <= COORDINATE_BYTES[crv] for name in names):
        raise ValueError("malformed")


def _check_key_fits(jwk: Mapping[str, Any], kty: str, alg: str, crv: object) -> None:
    """Raise ``ValueError`` with the reason unless the key's type, curve and size fit ``alg``."""
    if kty == "RSA":
        if not alg.startswith(("RS", "PS")):
            raise ValueError("key_type_mismatch")
        if not _b64_bytes(jwk, "e"):
            raise ValueError("malformed")
        if int.from_bytes(_b64_bytes(jwk, "n"), "big").bit_length() < MIN_RSA_BITS:
            raise ValueError(f"rsa_under_{MIN_RSA_BITS}_bits")
    elif kty == "EC":
        if alg not in CURVES:
            raise ValueError("key_type_mismatch")
        if CURVES[alg] != crv:
            raise ValueError("curve_mismatch")
        _coordinates_fit(jwk, ("x", "y"), str(crv))
    else:
        if alg != EDDSA:
            raise ValueError("key_type_mismatch")
        if crv != "Ed25519":  # Ed448 is not supported
            raise ValueError("curve_mismatch")
        _coordinates_fit(jwk, ("x",), str(crv))


def _public_jwk(jwk: Mapping[str, Any], algorithms: frozenset[str]) -> tuple[str | None, str, dict[str, Any]] | None:
    """The kid, algorithm and public members of a JWK we can verify with; None if it is not meant for us.

    The key's type (and curve) must fit its algorithm: RS* and PS* take RSA keys of
    2048 bits or more, ES* the EC curve of its size, EdDSA an OKP key on Ed25519.
    Without ``alg``, an RSA key stands for RS256 and a curve for its one algorithm.
    A key for one of our algorithms that we must refuse raises ``ValueError`` with the reason.
    """
    alg = jwk.get("alg")
    if jwk.get("use", "sig") != "sig" or (alg is not None and not (isinstance(alg, str) and alg in algorithms)):
        return None
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        alg = alg or "RS256"
        public = {"kty": "RSA", "n": jwk.get("n"), "e": jwk.get("e")}
    elif kty == "EC":
        alg = alg or next((name for name, curve in CURVES.items() if curve == crv), "")
        public = {"kty": "EC", "crv": crv, "x": jwk.get("x"), "y": jwk.get("y")}
    elif kty == "OKP" and crv not in ("X25519", "X448"):  # those are for key agreement, not signatures
        alg = alg or EDDSA
        public = {"kty": "OKP", "crv": crv, "x": jwk.get("x")}
    else:
        return None  # "oct" and anything else can never verify an asymmetric token
    if alg not in algorithms:
        return None
    _check_key_fits(jwk, kty, str(alg), crv)
    kid = jwk.get("kid")
    if not (kid is None or isinstance(kid, str)):
        raise ValueError("malformed_kid")
    return kid, alg, public


def parse_jwks(document: Any, algorithms: frozenset[str], *, now: float, ttl: float) -> KeySet:
    """Index every usable key of a JWKS document; say so when a signing key has to be skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("jwks_malformed")
    members: dict[tuple[str | None, str], dict[str, Any]] = {}
    skipped: Counter[str] = Counter()
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            skipped["malformed"] += 1
            continue
        try:
            usable = _public_jwk(jwk, algorithms)
        except ValueError as exc:
            skipped[str(exc)] += 1
            continue
        if usable is None:
            continue
        kid, alg, public = usable
        if (kid, alg) in members:
            skipped["duplicate_kid"] += 1
            continue
        members[(kid, alg)] = public
    if skipped:
        reasons = ",".join(f"{reason}:{count}" for reason, count in sorted(skipped.items()))
        logger.warning("jwks keys skipped count=%d reasons=%s", skipped.total(), reasons)
    if not members:
        raise FetchError("jwks_no_usable_keys")
    by_alg: dict[str, list[tuple[str | None, str]]] = {}
    for name in members:
        by_alg.setdefault(name[1], []).append(name)
    return KeySet(
        members,
        fetched_at=now,
        expires_at=now + ttl,
        fingerprint=frozenset(json.dumps([*name, public], sort_keys=True) for name, public in members.items()),
        sole={alg: names[0] for alg, names in by_alg.items() if len(names) == 1},
    )


def cache_ttl(cache_control: str | None, policy: JwksPolicy) -> float:
    """The provider's ``max-age``, clamped to our bounds; our default when it gives none."""
    ttl = policy.default_ttl
    if cache_control:
        if NO_CACHE.search(cache_control):
            ttl = policy.min_ttl
        elif match := MAX_AGE.search(cache_control):
            ttl = float(match.group(1))
    return min(max(ttl, policy.min_ttl), policy.max_ttl)


@dataclass
class Discovery:
    """What we keep from the provider's OpenID configuration."""

    jwks_uri: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None


@dataclass
class RefetchBudget:
    """A token bucket for refetches on unknown kids: ``burst`` at once, then one per ``cooldown``.

    Only those refetches draw on it, so a start-up, readiness or TTL fetch never
    delays the first token signed with a key the provider has just published.
    """

    burst: int
    cooldown: float
    tokens: float = field(init=False)
    stamp: float = -float("inf")

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> bool:
        if self.cooldown <= 0:
            return True
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) / self.cooldown)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class JwksCache:
    """Keys by ``(kid, alg)``, fetched once at a time and refreshed by policy."""

    def __init__(
        self,
        *,
        issuer: str | None,
        jwks_url: str | None,
        algorithms: frozenset[str],
        policy: JwksPolicy,
    ) -> None:
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._algorithms = algorithms
        self._policy = policy
        self._clock = time.monotonic
        self._client = httpx2.AsyncClient(
            timeout=policy.http_timeout, follow_redirects=False, headers={"Accept": "application/json"}
        )
        self._lock = asyncio.Lock()
        self._keyset: KeySet | None = None
        self._discovery: Discovery | None = None
        self._attempts = 0
        self._last_attempt = -float("inf")
        self._last_failed = False
        self._refetch_budget = RefetchBudget(policy.refetch_burst, policy.refetch_cooldown)
        self._background: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._generation = 0
        self._last_error: str | None = None

    def is_ready(self) -> bool:
        """Whether a usable key set, not past its maximum stale age, is held."""
        return self._current() is not None

    def generation(self) -> int:
        """Bumped when the key set changes or is dropped as too stale."""
        return self._generation

    @property
    def discovery(self) -> Discovery | None:
        """The provider's endpoints, once discovery has succeeded."""
        return self._discovery

    def _current(self) -> KeySet | None:
        """The key set, unless it is past its maximum stale age."""
        keyset = self._keyset
        if keyset is None or self._clock() - keyset.fetched_at > self._policy.max_stale:
            return None
        return keyset

    def refresh_if_due(self) -> None:
        """Drop keys past their maximum stale age, and start a background refresh of keys past their TTL.

        Called on every request, cached tokens included, so stale keys never outlive the policy.
        """
        keyset = self._keyset
        if keyset is None:
            return
        now = self._clock()
        if now - keyset.fetched_at > self._policy.max_stale:
            logger.warning("jwks keys dropped reason=max_stale_exceeded")
            self._replace(None)
        elif now >= keyset.expires_at:
            self._refresh_in_background()

    def _replace(self, keyset: KeySet | None) -> None:
        old = self._keyset.fingerprint if self._keyset is not None else None
        self._keyset = keyset
        if (keyset.fingerprint if keyset is not None else None) != old:
            self._generation += 1

    async def discovered(self) -> Discovery:
        """The provider's endpoints, discovering them first if need be (as the failure backoff allows).

        Raises ``KeyUnavailableError`` while the provider cannot be reached.
        """
        if self._discovery is None:
            await self.refresh(min_interval=self._policy.failure_backoff if self._last_failed else 0)
        if self._discovery is None:
            raise KeyUnavailableError(self._last_error or "no_discovery", self._retry_after())
        return self._discovery

    async def key_for(self, kid: str | None, alg: str) -> SigningKey:
        """The key for a token, fetching or refreshing as the policy allows."""
        keyset = self._current()
        if keyset is None:
            await self.refresh(min_interval=self._policy.failure_backoff if self._last_failed else 0)
            keyset = self._current()
            if keyset is None:
                raise KeyUnavailableError(self._last_error or "no_keys", self._retry_after())
        key = keyset.find(kid, alg)
        if key is None:
            key = await self._refetch_for_unknown_kid(kid, alg)
        if key is None:
            raise InvalidTokenError("unknown_kid")
        return key

    async def refresh(self, *, min_interval: float = 0) -> None:
        """Fetch the keys once, however many callers ask at the same moment."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen or self._clock() - self._last_attempt < min_interval:
                return  # someone else just tried; use what they got
            await self._attempt()

    async def _refetch_for_unknown_kid(self, kid: str | None, alg: str) -> SigningKey | None:
        """Perhaps the provider has just published this key: fetch again at once, if the budget allows.

        Not when a fetch began after we looked (its keys already answer us), nor
        when a fetch we waited for brought the key.
        """
        asked_at = self._clock()
        async with self._lock:
            keyset = self._current()
            key = keyset.find(kid, alg) if keyset is not None else None
            if key is None and self._last_attempt < asked_at and self._refetch_budget.take(self._clock()):
                await self._attempt()
                keyset = self._current()
                key = keyset.find(kid, alg) if keyset is not None else None
            return key

    async def _attempt(self) -> None:
        """One fetch of discovery (when needed) and the JWKS; the caller holds the lock."""
        self._last_attempt = self._clock()
        try:
            self._replace(await self._fetch_keyset())
            self._last_failed = False
        except FetchError as exc:
            self._last_failed = True
            self._last_error = str(exc)
            logger.warning("jwks fetch failed reason=%s cached_keys=%s", exc, self._keyset is not None)
        finally:
            # Counted when done, so callers who queued during this attempt reuse its result.
            self._attempts += 1

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            interval = self._policy.failure_backoff if self._last_failed else 0
            self._background = asyncio.create_task(self.refresh(min_interval=interval))

    async def _recover(self) -> None:
        """For the life of the cache: while no usable key set is held, fetch again with backoff.

        Readiness must not wait for traffic: an unready instance behind a load
        balancer gets none, so without this it would never recover by itself.
        """
        delay = max(self._policy.failure_backoff, MIN_RETRY_DELAY)
        while True:
            keyset = self._current()
            if keyset is not None:
                delay = max(self._policy.failure_backoff, MIN_RETRY_DELAY)
                # Sleep until these keys would pass their maximum stale age; a refresh meanwhile moves that on.
                await asyncio.sleep(keyset.fetched_at + self._policy.max_stale - self._clock() + MIN_RETRY_DELAY)
                continue
            # Jitter spreads the retries of many workers; it is no secret, so random is fine.
            await asyncio.sleep(delay * random.uniform(1.0, 1.25))  # noqa: S311
            await self.refresh(min_interval=self._policy.failure_backoff)  # unless a request just tried
            delay = min(delay * 2, max(MAX_RETRY_DELAY, self._policy.failure_backoff))

    async def start(self) -> None:
        """Prefetch the keys, then keep retrying in the background whenever no usable key is held.

        A failure is logged, not raised. Start-up waits at most the HTTP timeout,
        so the service is ready as soon as it listens whenever the provider is up.
        """
        await self.refresh()
        self._recovery = asyncio.create_task(self._recover())

    async def aclose(self) -> None:
        for task in (self._background, self._recovery):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._client.aclose()

    def _retry_after(self) -> int:
        remaining = self._last_attempt + self._policy.failure_backoff - self._clock()
        return max(1, round(remaining))

    async def _fetch_keyset(self) -> KeySet:
        try:
            async with asyncio.timeout(self._policy.http_timeout):
                jwks_url = self._jwks_url or (await self._discover()).jwks_uri
                document, cache_control = await self._get_json(jwks_url)
        except TimeoutError:
            raise FetchError("timeout") from None
        ttl = cache_ttl(cache_control, self._policy)
        keyset = parse_jwks(document, self._algorithms, now=self._clock(), ttl=ttl)
        logger.info("jwks loaded keys=%d ttl=%.0fs", len(keyset.members), ttl)
        return keyset

    async def _discover(self) -> Discovery:
        if self._discovery is not None:
            return self._discovery
        if self._issuer is None:
            raise FetchError("no_issuer_for_discovery")
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        document, _ = await self._get_json(url)
        if not isinstance(document, dict) or document.get("issuer") != self._issuer:
            raise FetchError("discovery_issuer_mismatch")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise FetchError("discovery_without_jwks_uri")
        try:
            check_url(jwks_uri)
        except ValueError:
            raise FetchError("discovery_jwks_uri_insecure") from None
        endpoints = {name: document.get(name) for name in ("authorization_endpoint", "token_endpoint")}
        self._discovery = Discovery(
            jwks_uri, **{name: value for name, value in endpoints.items() if isinstance(value, str)}
        )
        return self._discovery

    async def _get_json(self, url: str) -> tuple[Any, str | None]:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchError(f"http_{response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._policy.max_bytes:
                        raise FetchError("response_too_large")
                cache_control = response.headers.get("cache-control")
        except httpx2.HTTPError as exc:
            raise FetchError(f"http_error_{type(exc).__name__}") from None
        try:
            return json.loads(body), cache_control
        except (ValueError, RecursionError):
            raise FetchError("invalid_json") from None
