"""Signing keys from an identity provider: OIDC discovery, JWKS fetch and cache.

Each issuer has a ``JwksCache`` (its discovery); the keys live in a
``JwksDocument`` per JWKS URL, shared by the issuers whose discovery names it.
Policy, in short (the README has the table):

* every key of the document (under the byte cap) is indexed by ``(kid, alg)``,
  and built into a key object the first time a token names it;
* one fetch at a time per document (single flight), whatever the number of
  waiting requests and of issuers sharing it;
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
import math
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
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
# OpenSSL's own limit; and an exponent over 32 bits (providers use 65537) only makes each check slower.
MAX_RSA_BITS = 16384
MAX_RSA_EXPONENT_BYTES = 4
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


def check_key_fits(jwk: Mapping[str, Any], kty: str, alg: str, crv: object) -> None:
    """Raise ``ValueError`` with the reason unless the key's type, curve and size fit ``alg``."""
    if kty == "RSA":
        if not alg.startswith(("RS", "PS")):
            raise ValueError("key_type_mismatch")
        if not 0 < len(_b64_bytes(jwk, "e")) <= MAX_RSA_EXPONENT_BYTES:
            raise ValueError("malformed")
        bits = int.from_bytes(_b64_bytes(jwk, "n"), "big").bit_length()
        if bits < MIN_RSA_BITS:
            raise ValueError(f"rsa_under_{MIN_RSA_BITS}_bits")
        if bits > MAX_RSA_BITS:
            raise ValueError(f"rsa_over_{MAX_RSA_BITS}_bits")
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
    check_key_fits(jwk, kty, str(alg), crv)
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


class Attempts:
    """Single flight for one kind of fetch, and the record of its last try."""

    def __init__(self, url: str, policy: JwksPolicy) -> None:
        self.url = url
        self.lock = asyncio.Lock()
        self.count = 0
        self.last = -float("inf")
        self.error: str | None = None  # why the last try failed; None once one succeeds
        self._backoff = policy.failure_backoff
        self._clock = time.monotonic

    def backoff(self) -> float:
        """How long after the last try the next may start: the failure backoff after a failure, else at once."""
        return self._backoff if self.error is not None else 0

    async def run(self, fetch: Callable[[], Awaitable[None]], *, min_interval: float | None = None) -> None:
        """Try once, however many callers ask at the same moment; those who queued reuse the outcome."""
        seen = self.count
        async with self.lock:
            wait = self.backoff() if min_interval is None else min_interval
            if self.count != seen or self._clock() - self.last < wait:
                return  # someone else just tried; use what they got
            await self.attempt(fetch)

    async def attempt(self, fetch: Callable[[], Awaitable[None]]) -> None:
        """One try, with the lock held; a ``FetchError`` is logged and kept, not raised."""
        self.last = self._clock()
        try:
            await fetch()
            self.error = None
        except FetchError as exc:
            self.error = str(exc)
            logger.warning("jwks fetch failed reason=%s url=%s", exc, self.url)
        finally:
            # Counted when done, so callers who queued during this try reuse its result.
            self.count += 1

    def retry_after(self) -> int:
        return max(1, round(self.last + self._backoff - self._clock()))


async def get_json(client: httpx2.AsyncClient, url: str, policy: JwksPolicy) -> tuple[Any, str | None]:
    """A JSON document of at most ``policy.max_bytes``, and its ``Cache-Control``; ``FetchError`` otherwise."""
    try:
        async with asyncio.timeout(policy.http_timeout), client.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"http_{response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise FetchError("response_too_large")
            cache_control = response.headers.get("cache-control")
    except TimeoutError:
        raise FetchError("timeout") from None
    except httpx2.HTTPError as exc:
        raise FetchError(f"http_error_{type(exc).__name__}") from None
    try:
        return json.loads(body), cache_control
    except (ValueError, RecursionError):
        raise FetchError("invalid_json") from None


class JwksDocument:
    """The keys at one JWKS URL, by ``(kid, alg)``: fetched once at a time and refreshed by policy.

    Shared by every issuer whose configuration names this URL, so they share its
    fetches, its unknown-kid refetch budget and its stale window too.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: frozenset[str],
        policy: JwksPolicy,
        client: httpx2.AsyncClient,
        on_replace: Callable[[bool], None],
    ) -> None:
        self.url = url
        self._algorithms = algorithms
        self._policy = policy
        self._client = client
        self._on_replace = on_replace
        self._clock = time.monotonic
        self._fetches = Attempts(url, policy)
        self._keyset: KeySet | None = None
        self._refetch_budget = RefetchBudget(policy.refetch_burst, policy.refetch_cooldown)
        self._background: asyncio.Task[None] | None = None

    def is_ready(self) -> bool:
        """Whether a usable key set, not past its maximum stale age, is held."""
        return self._current() is not None

    def usable_for(self) -> float | None:
        """Seconds until the held keys pass their maximum stale age; None when no usable key is held."""
        keyset = self._current()
        return None if keyset is None else keyset.fetched_at + self._policy.max_stale - self._clock()

    def due_at(self) -> float:
        """The clock reading from which ``refresh_if_due`` may have work to do; infinity with no keys."""
        keyset = self._keyset
        if keyset is None:
            return math.inf
        return min(keyset.expires_at, keyset.fetched_at + self._policy.max_stale)

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
            logger.warning("jwks keys dropped reason=max_stale_exceeded url=%s", self.url)
            self._replace(None)
        elif now >= keyset.expires_at and (self._background is None or self._background.done()):
            self._background = asyncio.create_task(self.refresh())

    def _replace(self, keyset: KeySet | None) -> None:
        old = self._keyset.fingerprint if self._keyset is not None else None
        self._keyset = keyset
        # The registry keeps the key generation: it changes when a key set changes or is dropped as too stale.
        self._on_replace((keyset.fingerprint if keyset is not None else None) != old)

    async def refresh(self, *, min_interval: float | None = None) -> None:
        """Fetch the keys once, however many callers ask at the same moment (as the failure backoff allows)."""
        await self._fetches.run(self._load, min_interval=min_interval)

    async def ensure(self, *, min_interval: float | None = None) -> None:
        """Fetch the keys unless usable ones are held."""
        if self._current() is None:
            await self.refresh(min_interval=min_interval)

    def held_key(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key for a token among the usable keys held now; None when ``key_for`` has work to do."""
        keyset = self._current()
        return None if keyset is None else keyset.find(kid, alg)

    async def key_for(self, kid: str | None, alg: str) -> SigningKey:
        """The key for a token, fetching or refreshing as the policy allows."""
        keyset = self._current()
        if keyset is None:
            await self.refresh()
            keyset = self._current()
            if keyset is None:
                raise KeyUnavailableError(self._fetches.error or "no_keys", self._fetches.retry_after())
        key = keyset.find(kid, alg)
        if key is None:
            key = await self._refetch_for_unknown_kid(kid, alg)
        if key is None:
            raise InvalidTokenError("unknown_kid")
        return key

    async def _refetch_for_unknown_kid(self, kid: str | None, alg: str) -> SigningKey | None:
        """Perhaps the provider has just published this key: fetch again at once, if the budget allows.

        Not when a fetch began after we looked (its keys already answer us), nor
        when a fetch we waited for brought the key.
        """
        asked_at = self._clock()
        async with self._fetches.lock:
            keyset = self._current()
            key = keyset.find(kid, alg) if keyset is not None else None
            if key is None and self._fetches.last < asked_at and self._refetch_budget.take(self._clock()):
                await self._fetches.attempt(self._load)
                keyset = self._current()
                key = keyset.find(kid, alg) if keyset is not None else None
            return key

    async def _load(self) -> None:
        document, cache_control = await get_json(self._client, self.url, self._policy)
        ttl = cache_ttl(cache_control, self._policy)
        keyset = parse_jwks(document, self._algorithms, now=self._clock(), ttl=ttl)
        logger.info("jwks loaded keys=%d ttl=%.0fs", len(keyset.members), ttl)
        self._replace(keyset)

    async def aclose(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background


class JwksDocuments:
    """The JWKS documents a service reads, one per URL, so that issuers naming the same URL share one."""

    def __init__(self, algorithms: frozenset[str], policy: JwksPolicy) -> None:
        self.algorithms = algorithms
        self.policy = policy
        self.client = httpx2.AsyncClient(
            timeout=policy.http_timeout, follow_redirects=False, headers={"Accept": "application/json"}
        )
        self._by_url: dict[str, JwksDocument] = {}
        # Worked out when a key set is replaced, so that a request asks two numbers, not every document.
        self._generation = 0
        self._due_at = math.inf
        self._clock = time.monotonic

    def at(self, url: str) -> JwksDocument:
        """The document at ``url``: a URL from our settings or an issuer's discovery, never from a token."""
        document = self._by_url.get(url)
        if document is None:
            document = JwksDocument(
                url, algorithms=self.algorithms, policy=self.policy, client=self.client, on_replace=self._replaced
            )
            self._by_url[url] = document
        return document

    def generation(self) -> int:
        """Changes whenever any document's key set does."""
        return self._generation

    def refresh_if_due(self) -> None:
        """Each document's ``refresh_if_due``, once the earliest of them may have work to do."""
        if self._clock() < self._due_at:
            return
        for document in tuple(self._by_url.values()):
            document.refresh_if_due()
        self._due_at = self._earliest_due()

    def _replaced(self, keys_changed: bool) -> None:
        if keys_changed:
            self._generation += 1
        self._due_at = self._earliest_due()

    def _earliest_due(self) -> float:
        return min((document.due_at() for document in self._by_url.values()), default=math.inf)

    async def aclose(self) -> None:
        await asyncio.gather(*(document.aclose() for document in self._by_url.values()))
        await self.client.aclose()


class JwksCache:
    """One issuer's signing keys: its discovery (unless a JWKS URL is configured), then the document it names.

    Issuers whose discovery names the same ``jwks_uri`` share that document
    through the ``JwksDocuments`` they are given: one fetch, one refetch budget.
    A token is still checked only with the keys of the issuer it claims.
    """

    def __init__(self, *, issuer: str | None, jwks_url: str | None, documents: JwksDocuments) -> None:
        self._issuer = issuer
        self._documents = documents
        self._policy = documents.policy
        self._document = documents.at(jwks_url) if jwks_url else None
        self._discovery: Discovery | None = None
        discovery_url = (issuer or "").rstrip("/") + "/.well-known/openid-configuration"
        self._discoveries = Attempts(discovery_url, self._policy)
        self._recovery: asyncio.Task[None] | None = None

    def is_ready(self) -> bool:
        """Whether a usable key set, not past its maximum stale age, is held."""
        return self._document is not None and self._document.is_ready()

    @property
    def discovery(self) -> Discovery | None:
        """The provider's endpoints, once discovery has succeeded."""
        return self._discovery

    async def discovered(self) -> Discovery:
        """The provider's endpoints, discovering them first if need be (as the failure backoff allows).

        Raises ``KeyUnavailableError`` while the provider cannot be reached.
        """
        if self._discovery is None:
            await self._discoveries.run(self._discover)
        if self._discovery is None:
            raise KeyUnavailableError(self._discoveries.error or "no_discovery", self._discoveries.retry_after())
        return self._discovery

    def held_key(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key for a token among the usable keys held now, without waiting; None when there is none."""
        return None if self._document is None else self._document.held_key(kid, alg)

    async def key_for(self, kid: str | None, alg: str) -> SigningKey:
        """The key for a token, discovering, fetching or refreshing as the policy allows."""
        if self._document is None:
            await self._discoveries.run(self._discover)
        if self._document is None:
            raise KeyUnavailableError(self._discoveries.error or "no_discovery", self._discoveries.retry_after())
        return await self._document.key_for(kid, alg)

    async def refresh(self, *, min_interval: float | None = None) -> None:
        """Discover if need be, then fetch the keys unless usable ones are held (another issuer may have)."""
        if self._document is None:
            await self._discoveries.run(self._discover, min_interval=min_interval)
        if self._document is not None:
            await self._document.ensure(min_interval=min_interval)

    async def _recover(self) -> None:
        """For the life of the cache: while no usable key set is held, fetch again with backoff.

        Readiness must not wait for traffic: an unready instance behind a load
        balancer gets none, so without this it would never recover by itself.
        """
        delay = max(self._policy.failure_backoff, MIN_RETRY_DELAY)
        while True:
            usable_for = self._document.usable_for() if self._document is not None else None
            if usable_for is not None:
                delay = max(self._policy.failure_backoff, MIN_RETRY_DELAY)
                # Sleep until these keys would pass their maximum stale age; a refresh meanwhile moves that on.
                await asyncio.sleep(usable_for + MIN_RETRY_DELAY)
                continue
            # Jitter spreads the retries of many workers; it is no secret, so random is fine.
            await asyncio.sleep(delay * random.uniform(1.0, 1.25))  # noqa: S311
            await self.refresh(min_interval=self._policy.failure_backoff)  # unless a request just tried
            delay = min(delay * 2, max(MAX_RETRY_DELAY, self._policy.failure_backoff))

    async def start(self) -> None:
        """Prefetch the keys, then keep retrying in the background whenever no usable key is held.

        A failure is logged, not raised. Discovery and the JWKS fetch each wait at
        most the HTTP timeout, so the service is ready as soon as it listens
        whenever the provider is up.
        """
        await self.refresh()
        self._recovery = asyncio.create_task(self._recover())

    async def aclose(self) -> None:
        """Stop retrying; the documents are closed by whoever made them."""
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery

    async def _discover(self) -> None:
        if self._issuer is None:
            raise FetchError("no_issuer_for_discovery")
        document, _ = await get_json(self._documents.client, self._discoveries.url, self._policy)
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
        self._document = self._document or self._documents.at(jwks_uri)
