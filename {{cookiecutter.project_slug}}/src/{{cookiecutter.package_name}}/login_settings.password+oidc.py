"""Settings of a service that logs users in: its database, and the lifetimes of the tokens it issues.

They extend the mode's ``Settings``; each login kind extends them again with its own.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .verifier import Settings

DAY = 24 * 3600
# The async drivers the service runs on: a URL naming another driver would fail at its first query.
ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class DatabaseSettings(BaseSettings):
    """Where the database is: all that ``python -m {{ cookiecutter.package_name }}.db`` and the users CLI need."""

    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///./{{ cookiecutter.package_name }}.db"),
        # The usual name; the field name lets tests and code pass it as database_url=.
        validation_alias=AliasChoices("DATABASE_URL", "AUTH_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL: sqlite+aiosqlite:///./file.db, or postgresql+asyncpg://user:pass@host/db.",
    )
    database_timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="How long a login waits for the database before answering 503."
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: SecretStr) -> SecretStr:
        try:
            driver = make_url(value.get_secret_value()).drivername
        except ArgumentError:
            driver = None
        if driver not in ASYNC_DRIVERS:
            raise ValueError(f"DATABASE_URL must start with {' or '.join(f'{name}://' for name in ASYNC_DRIVERS)}")
        return value


class LoginSettings(Settings, DatabaseSettings):
    """What every login bake needs besides the token checks."""

    access_token_ttl: int = Field(default=900, ge=60, le=DAY, description="Lifetime of an access token, seconds.")
    refresh_token_ttl: int = Field(
        default=14 * DAY, ge=300, description="A refresh token unused this long (seconds) expires."
    )
    session_max_age: int = Field(
        default=90 * DAY, ge=300, description="A login ends this long (seconds) after it began, refreshed or not."
    )
    revocation_poll_seconds: float = Field(
        default=2, gt=0, le=60, description="How often each worker re-reads logouts and disabled users (SQLite)."
    )
    max_form_bytes: int = Field(default=4096, ge=1024, le=65536, description="Larger login bodies get 413.")

    @model_validator(mode="after")
    def _access_tokens_pass_has_access(self) -> LoginSettings:
        if self.access_token_ttl > self.max_token_lifetime:
            raise ValueError(
                "AUTH_ACCESS_TOKEN_TTL exceeds AUTH_MAX_TOKEN_LIFETIME: the service would refuse its own tokens"
            )
        return self
