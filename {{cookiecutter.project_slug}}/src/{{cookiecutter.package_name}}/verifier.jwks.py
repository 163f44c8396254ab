"""jwks mode: tokens are signed by identity providers with asymmetric keys.

Each trusted issuer (``AUTH_ISSUER``, with its ``AUTH_ISSUER_ALIASES``, and every
``AUTH_EXTRA_ISSUERS`` entry) has keys of its own: from ``AUTH_JWKS_URL`` for ``AUTH_ISSUER``, else from OIDC
discovery at ``{issuer}/.well-known/openid-configuration``. Issuers whose
discovery names the same ``jwks_uri`` share one fetch of it (and its unknown-kid
refetch budget), and each of them trusts those keys. A token's claimed
``iss`` picks the issuer whose keys may verify it, so a key of one issuer never
verifies a token claiming another, and a token of an unknown issuer is refused
before any request is made. Only the asymmetric algorithms in
``AUTH_ALGORITHMS`` are accepted, and a key is chosen by the token's ``kid``
from our own cache: ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are never followed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from . import tokens
from .claims import TENANT_PLACEHOLDER, tenant_pattern
from .errors import InvalidTokenError
from .jwks_cache import JwksCache, JwksDocuments, JwksPolicy, check_url
from .settings import AuthSettings, Words
from .tokens import ParsedToken

# PS* and EdDSA are verified with cryptography directly (tokens.py); RS* and ES* by python-jose.
Algorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class Settings(AuthSettings):
    """jwks settings: where the provider's keys are and how long to trust them."""

    jwks_url: str | None = Field(
        default="{{ cookiecutter.jwks_url }}",
        description="The provider's JWKS URL; empty means OIDC discovery from AUTH_ISSUER.",
    )
    algorithms: frozenset[Algorithm] = Field(
        default=frozenset({"RS256", "ES256"}),
        description="Accepted signature algorithms; each key of the JWKS serves the one algorithm it fits.",
    )
    http_timeout_seconds: float = Field(default=3, gt=0, le=30)
    jwks_default_ttl_seconds: float = Field(default=600, gt=0)
    jwks_min_ttl_seconds: float = Field(default=60, ge=0)
    jwks_max_ttl_seconds: float = Field(default=86400, gt=0)
    jwks_refetch_cooldown_seconds: float = Field(default=30, ge=0)
    jwks_refetch_burst: int = Field(default=3, ge=1, le=100)
    jwks_failure_backoff_seconds: float = Field(default=5, ge=0)
    jwks_max_stale_seconds: float = Field(default=21600, ge=0)
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024)
    swagger_client_id: str | None = Field(
        default=None,
        description="Public client ID that /docs uses to log in at the provider (authorization code + PKCE).",
    )
    swagger_scopes: Words = Field(
        default="",
        validate_default=True,
        description="Scopes /docs asks for, space-separated; empty: openid and every scope a route requires.",
    )
    swagger_scope_prefix: str = Field(
        default="{{ cookiecutter.__swagger_scope_prefix }}",
        description="Put before each route's scope in the /docs login (Entra ID: the API's Application ID URI and /).",
    )
    swagger_audience_parameter: str = Field(
        default="{{ cookiecutter.__swagger_audience_parameter }}",
        description="Login parameter that names AUTH_AUDIENCE to the provider (Auth0: audience); empty sends none.",
    )
    dpop: Literal["off", "allowed", "required"] = Field(
        default="off", description="DPoP sender-constrained tokens (RFC 9449): off, allowed beside Bearer, or required."
    )
    dpop_algorithms: frozenset[Algorithm] = Field(default=frozenset({"ES256", "RS256"}))
    dpop_proof_max_age_seconds: float = Field(
        default=60, gt=0, le=600, description="How old a proof's iat may be; also how long its jti is remembered."
    )
    dpop_replay_cache_size: int = Field(
        default=100_000, ge=1, description="Proof jti values remembered per worker; when full, new proofs get 401."
    )
    dpop_public_url: str | None = Field(
        default=None,
        description="The service's external base URL (scheme://host[:port][/prefix]) that proofs' htu name, "
        "when a proxy rewrites the request URL.",
    )

    @field_validator("jwks_url")
    @classmethod
    def _secure_jwks_url(cls, value: str | None) -> str | None:
        return check_url(value) if value else None

    @field_validator("dpop_public_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        return check_url(value).rstrip("/") if value else None

    @field_validator("extra_issuers")
    @classmethod
    def _discoverable_issuers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for issuer in value:
            if TENANT_PLACEHOLDER in issuer:
                raise ValueError(f"only AUTH_ISSUER may hold {TENANT_PLACEHOLDER}, with AUTH_JWKS_URL")
            check_url(issuer)
        return value

    @model_validator(mode="after")
    def _keys_can_be_found(self) -> Settings:
        if self.jwks_url is None:
            if self.issuer is None:
                raise ValueError("set AUTH_JWKS_URL, or AUTH_ISSUER for OIDC discovery")
            if TENANT_PLACEHOLDER in self.issuer:
                raise ValueError(f"an AUTH_ISSUER holding {TENANT_PLACEHOLDER} needs AUTH_JWKS_URL (no discovery)")
            check_url(self.issuer)
        return self

    def policy(self) -> JwksPolicy:
        """The cache policy these settings describe."""
        return JwksPolicy(
            default_ttl=self.jwks_default_ttl_seconds,
            min_ttl=self.jwks_min_ttl_seconds,
            max_ttl=self.jwks_max_ttl_seconds,
            refetch_cooldown=self.jwks_refetch_cooldown_seconds,
            refetch_burst=self.jwks_refetch_burst,
            failure_backoff=self.jwks_failure_backoff_seconds,
            max_stale=self.jwks_max_stale_seconds,
            http_timeout=self.http_timeout_seconds,
            max_bytes=self.jwks_max_bytes,
        )


class Verifier:
    """Check signatures with the claimed issuer's keys, chosen by ``kid`` and ``alg``."""

    require_exp = True
    rotates_keys = True

    def __init__(self, settings: Settings) -> None:
        self.algorithms: frozenset[str] = frozenset(settings.algorithms)
        # One document per JWKS URL: issuers whose discovery names the same jwks_uri share its fetches.
        self._documents = JwksDocuments(self.algorithms, settings.policy())

        def cache(issuer: str | None, jwks_url: str | None = None) -> JwksCache:
            return JwksCache(issuer=issuer, jwks_url=jwks_url, documents=self._documents)

        # AUTH_ISSUER's keys (AUTH_JWKS_URL belongs to it alone); /ready and the /docs login follow them.
        self.jwks = cache(settings.issuer, settings.jwks_url)
        self._by_issuer: dict[str, JwksCache] = {}
        self._by_tenant: list[tuple[re.Pattern[str], JwksCache]] = []
        for issuer in (settings.issuer, *settings.issuer_aliases) if settings.issuer is not None else ():
            if TENANT_PLACEHOLDER in issuer:
                self._by_tenant.append((tenant_pattern(issuer), self.jwks))
            else:
                self._by_issuer[issuer] = self.jwks
        for issuer in settings.extra_issuers:
            self._by_issuer.setdefault(issuer, cache(issuer))
        self._caches = (self.jwks, *(found for found in self._by_issuer.values() if found is not self.jwks))
        # With no issuer configured (a bare JWKS URL), every token is checked against that one key set.
        self._routed = bool(self._by_issuer or self._by_tenant)
        # Every request asks these, cached tokens included: the registry answers without a call in between.
        self.key_generation: Callable[[], int] = self._documents.generation
        self.refresh_if_due: Callable[[], None] = self._documents.refresh_if_due

    def is_ready(self) -> bool:
        return self.jwks.is_ready()

    def keys_of(self, claims: dict[str, Any]) -> JwksCache:
        """The key cache of the issuer the token claims; refuses an unknown issuer before any fetch."""
        if not self._routed:
            return self.jwks
        iss = claims.get("iss")
        if isinstance(iss, str):
            if (found := self._by_issuer.get(iss)) is not None:
                return found
            for pattern, tenant_keys in self._by_tenant:
                if pattern.fullmatch(iss):
                    return tenant_keys
        raise InvalidTokenError("iss_mismatch")

    async def check(self, token: ParsedToken) -> None:
        keys = self.keys_of(token.claims)
        # A held key needs no coroutine; key_for fetches, refetches or refuses as the policy says.
        key = keys.held_key(token.kid, token.alg)
        if key is None:
            key = await keys.key_for(token.kid, token.alg)
        tokens.verify_signature(token, key)

    async def start(self) -> None:
        await asyncio.gather(*(cache.start() for cache in self._caches))

    async def aclose(self) -> None:
        await asyncio.gather(*(cache.aclose() for cache in self._caches))
        await self._documents.aclose()
