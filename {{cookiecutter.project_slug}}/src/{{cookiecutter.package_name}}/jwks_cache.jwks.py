"""Signing keys from an identity provider: OIDC discovery, JWKS fetch and cache.

Policy, in short (the README has the table):

* keys are parsed once per fetch into key objects, stored by ``(kid, alg)``;
* one fetch at a time (single flight), whatever the number of waiting requests;
* refreshed after a TTL taken from ``Cache-Control: max-age`` within bounds,
  in the background, while the old keys keep serving;
* an unknown ``kid`` triggers at most one refetch per cooldown;
* when the provider fails, cached keys keep working up to a maximum stale age;
  with no usable key at all, requests get 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2

from . import tokens
from .errors import InvalidTokenError, KeyUnavailableError
from .tokens import SigningKey

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_KEYS = 64
MIN_RSA_BITS = 2048
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
EDDSA = "EdDSA"
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
    failure_backoff: float = 5
    max_stale: float = 21600
    http_timeout: float = 3
    max_bytes: int = 256 * 1024


@dataclass(frozen=True)
class KeySet:
    """The usable keys of one JWKS document, and when it goes stale."""

    keys: Mapping[tuple[str | None, str], SigningKey]
    fetched_at: float
    expires_at: float
    # The public key material, to tell a changed key set from a re-fetched one.
    fingerprint: frozenset[str] = frozenset()

    def find(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key for a token's ``kid`` and ``alg``; without a kid, only an unambiguous one."""
        if kid is not None:
            return self.keys.get((kid, alg))
        candidates = [key for (_, key_alg), key in self.keys.items() if key_alg == alg]
        return candidates[0] if len(candidates) == 1 else None


def _rsa_bits(modulus: object) -> int:
    """The size of an RSA modulus given in base64url, counted from its highest set bit; 0 when unreadable."""
    if not isinstance(modulus, str):
        return 0
    try:
        return int.from_bytes(base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4)), "big").bit_length()
    except (binascii.Error, ValueError):
        return 0


def _public_jwk(jwk: Mapping[str, Any], algorithms: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
    """The algorithm and public members of a JWK we can use for signatures, or None.

    The key's type (and curve) must fit its algorithm: RS* and PS* take RSA keys of
    2048 bits or more, ES* the EC curve of its size, EdDSA an OKP key on Ed25519.
    Without ``alg``, an RSA key stands for RS256 and a curve for its one algorithm.
    """
    alg = jwk.get("alg")
    if jwk.get("use", "sig") != "sig" or (alg is not None and not (isinstance(alg, str) and alg in algorithms)):
        return None
    kty = jwk.get("kty")
    if kty == "RSA":
        alg = alg or "RS256"
        fits = alg.startswith(("RS", "PS")) and _rsa_bits(jwk.get("n")) >= MIN_RSA_BITS
        public = {"kty": "RSA", "n": jwk.get("n"), "e": jwk.get("e")}
    elif kty == "EC":
        crv = jwk.get("crv")
        alg = alg or next((name for name, curve in CURVES.items() if curve == crv), "")
        fits = CURVES.get(alg) == crv
        public = {"kty": "EC", "crv": crv, "x": jwk.get("x"), "y": jwk.get("y")}
    elif kty == "OKP":
        # Ed448 is not supported; X25519 and X448 are for key agreement, not signatures.
        alg = alg or EDDSA
        fits = alg == EDDSA and jwk.get("crv") == "Ed25519"
        public = {"kty": "OKP", "crv": "Ed25519", "x": jwk.get("x")}
    else:
        return None  # "oct" and anything else can never verify an asymmetric token
    return (alg, public) if fits and alg in algorithms else None


def parse_jwks(document: Any, algorithms: frozenset[str], *, now: float, ttl: float) -> KeySet:
    """Build key objects from a JWKS document, skipping keys we cannot or must not use."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("jwks_malformed")
    keys: dict[tuple[str | None, str], SigningKey] = {}
    fingerprint: set[str] = set()
    for jwk in document["keys"][:MAX_KEYS]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        usable = _public_jwk(jwk, algorithms)
        if usable is None or not (kid is None or isinstance(kid, str)):
            continue
        alg, public = usable
        try:
            keys[(kid, alg)] = tokens.load_key(public, alg)
        except ValueError:
            logger.warning("jwks key skipped kid=%r reason=unparseable", kid)
            continue
        fingerprint.add(json.dumps([kid, alg, public], sort_keys=True))
    if not keys:
        raise FetchError("jwks_no_usable_keys")
    return KeySet(keys, fetched_at=now, expires_at=now + ttl, fingerprint=frozenset(fingerprint))


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
        self._background: asyncio.Task[None] | None = None
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
            # Perhaps the provider rotated its keys; ask again, but not more than once per cooldown.
            await self.refresh(min_interval=self._policy.refetch_cooldown)
            keyset = self._current()
            key = keyset.find(kid, alg) if keyset is not None else None
        if key is None:
            raise InvalidTokenError("unknown_kid")
        return key

    async def refresh(self, *, min_interval: float = 0) -> None:
        """Fetch the keys once, however many callers ask at the same moment."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen or self._clock() - self._last_attempt < min_interval:
                return  # someone else just tried; use what they got
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

    async def start(self) -> None:
        """Prefetch the keys; a failure is logged, not raised, and retried on demand.

        Start-up waits at most the HTTP timeout, so the service is ready as soon
        as it listens whenever the provider is up.
        """
        await self.refresh()

    async def aclose(self) -> None:
        if self._background is not None:
            self._background.cancel()
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
        logger.info("jwks loaded keys=%d ttl=%.0fs", len(keyset.keys), ttl)
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
