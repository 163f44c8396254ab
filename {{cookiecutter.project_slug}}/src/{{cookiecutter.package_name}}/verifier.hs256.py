"""hs256 mode: tokens are signed with a secret this service shares with its issuer.

Only HS256 is accepted; the algorithm never comes from the token. The secret
is read once and turned into a key object at start-up.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from . import tokens
from .settings import AuthSettings
from .tokens import ParsedToken, SigningKey

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
GENERATE_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
PLACEHOLDERS = ("change-me", "changeme", "replace-me", "secret", "your-secret")


class Settings(AuthSettings):
    """hs256 settings: ``AUTH_SECRET`` is required."""

    # A refused secret must not be echoed into the start-up error and from there into logs.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    secret: SecretStr = Field(description="Shared HS256 secret, at least 32 bytes of random data.")

    @field_validator("secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw.strip().lower().startswith(PLACEHOLDERS):
            raise ValueError(f"AUTH_SECRET is a placeholder; {GENERATE_HINT}")
        if len(raw.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ValueError(f"AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes; {GENERATE_HINT}")
        return value


def signing_key(settings: Settings) -> SigningKey:
    """The HS256 key built from ``AUTH_SECRET``, for verifying and for minting."""
    return tokens.load_key(settings.secret.get_secret_value(), ALGORITHM)


class Verifier:
    """Check HS256 signatures against the shared secret."""

    algorithms = frozenset({ALGORITHM})
    rotates_keys = False
    require_exp = True

    def __init__(self, settings: Settings) -> None:
        self._key = signing_key(settings)

    async def check(self, token: ParsedToken) -> None:
        tokens.verify_signature(token, self._key)

    def key_generation(self) -> int:
        """The key never changes while the service runs."""
        return 0

    def is_ready(self) -> bool:
        """Always: the key is built in the constructor."""
        return True

    def refresh_if_due(self) -> None:
        """Nothing to refresh: the key never changes."""

    async def start(self) -> None:
        """Nothing to fetch: the key is built in the constructor."""

    async def aclose(self) -> None:
        """Nothing to release."""
