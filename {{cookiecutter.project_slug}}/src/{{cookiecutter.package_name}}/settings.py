"""Settings shared by every auth mode, read from ``AUTH_*`` variables and ``.env``.

The mode-specific settings (the secret, or the identity provider) extend this
class in ``keys.py``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    """How tokens are checked, whatever the mode."""

    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    issuer: str | None = Field(
        default="{{ cookiecutter.jwt_issuer }}",
        description="Required value of the iss claim; empty disables the check.",
    )
    audience: str | None = Field(
        default="{{ cookiecutter.jwt_audience }}",
        description="Value the aud claim must contain; empty disables the check.",
    )
    leeway_seconds: float = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat.")
    scope_claims: tuple[str, ...] = Field(
        default=("scope", "scp"),
        description="Claims read for scopes: space-separated strings or lists of strings.",
    )
    max_token_bytes: int = Field(default=8192, ge=512, le=65536, description="Longer tokens are refused unread.")
    token_cache_size: int = Field(default=4096, ge=0, description="Verified tokens kept in memory; 0 disables.")
    app_env: str = Field(
        default="development",
        validation_alias=AliasChoices("APP_ENV", "AUTH_APP_ENV"),
        description="Deployment environment; 'production' enables extra start-up checks.",
    )

    @field_validator("issuer", "audience")
    @classmethod
    def _empty_means_unset(cls, value: str | None) -> str | None:
        return value or None
