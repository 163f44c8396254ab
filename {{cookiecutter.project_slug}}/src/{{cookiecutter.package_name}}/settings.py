"""Settings shared by every auth mode, read from ``AUTH_*`` variables and ``.env``.

The mode's own settings (the secret, or where the identity provider's keys
are) extend this class as ``Settings`` in ``verifier.py``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_words(value: object) -> object:
    return tuple(value.split()) if isinstance(value, str) else value


# A list given as space-separated words, in the environment and in defaults alike.
Words = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split_words)]


class AuthSettings(BaseSettings):
    """How tokens are checked, whatever the mode."""

    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    issuer: str | None = Field(
        default="{{ cookiecutter.jwt_issuer }}",
        description="Required value of the iss claim; empty disables the check.",
    )
    issuer_aliases: Words = Field(
        default="{{ cookiecutter.__issuer_aliases }}",
        validate_default=True,
        description="Other iss values of AUTH_ISSUER itself, verified with its keys (e.g. Entra ID's v1 issuer).",
    )
    extra_issuers: Words = Field(
        default="",
        validate_default=True,
        description="Other trusted issuers, space-separated; in jwks mode each has keys of its own.",
    )
    allowed_tenants: Words = Field(
        default="",
        validate_default=True,
        description="Tenants accepted by an issuer holding {tenantid} (Entra ID multi-tenant); empty accepts none.",
    )
    audience: str | None = Field(
        default="{{ cookiecutter.jwt_audience }}",
        description="Value the audience claim must contain; empty disables the check.",
    )
    audience_claim: str = Field(
        default="{{ cookiecutter.__audience_claim }}",
        description="Claim checked against the audience: aud, or client_id for Cognito access tokens.",
    )
    required_claims: Words = Field(
        default="{{ cookiecutter.__required_claims }}",
        validate_default=True,
        description="name=value pairs every token must carry, space-separated (e.g. token_use=access).",
    )
    leeway_seconds: float = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat.")
    max_token_lifetime: float = Field(
        default=86400,
        ge=60,
        le=366 * 86400,
        description="Longest token lifetime accepted, in seconds: exp at most this far ahead (plus the leeway), "
        "and exp - iat at most this.",
    )
    require_at_jwt: bool = Field(
        default=False,
        description="Accept only tokens whose typ header is at+jwt (RFC 9068), not JWT or none.",
    )
    id_token_claims: Words = Field(
        default="{{ cookiecutter.__id_token_claims }}",
        validate_default=True,
        description="Claims that only OpenID ID tokens carry, space-separated: a token with any of them is refused.",
    )
    access_token_claims: Words = Field(
        default="{{ cookiecutter.__access_token_claims }}",
        validate_default=True,
        description="Claims of which every access token carries one (Entra ID: azp or appid); empty: no such rule.",
    )
    scope_claims: Words = Field(
        default="{{ cookiecutter.__scope_claims }}",
        validate_default=True,
        description="Claims read for scopes, space-separated; a dotted name reads a nested claim.",
    )
    max_token_bytes: int = Field(default=8192, ge=512, le=65536, description="Longer tokens are refused unread.")
    token_cache_size: int = Field(default=4096, ge=0, description="Verified tokens kept in memory; 0 disables.")
    token_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="Memory the verified tokens may take, in bytes; 0 disables."
    )
    log_repeat_seconds: float = Field(
        default=10, ge=0, description="Identical failures are logged once per interval, with a count; 0 logs each."
    )

    @field_validator("issuer", "audience")
    @classmethod
    def _empty_means_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("required_claims")
    @classmethod
    def _pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not name or not expected for name, _, expected in (pair.partition("=") for pair in value)):
            raise ValueError("AUTH_REQUIRED_CLAIMS takes name=value pairs separated by spaces")
        return value
