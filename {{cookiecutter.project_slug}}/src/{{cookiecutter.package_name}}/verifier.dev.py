"""dev mode: signatures are NOT checked. For local development only.

The token must still be a well-formed JWS with a known signing algorithm,
and ``exp``, ``aud`` and ``iss`` are still checked when present or configured.
The service starts only where ``APP_ENV`` names a local environment: unset
(as in a container image, which never holds ``.env``), ``staging`` or
``production``, it refuses to.
"""

from __future__ import annotations

import logging
import secrets

from pydantic import AliasChoices, Field, model_validator

from . import tokens
from .settings import AuthSettings
from .tokens import ParsedToken, SigningKey

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
# Every signing algorithm a real issuer might use; never "none".
KNOWN_ALGORITHMS = frozenset(
    {"EdDSA", *(f"{family}{bits}" for family in ("HS", "RS", "PS", "ES") for bits in (256, 384, 512))}
)


# Where a service that checks no signature may run. Anything else, unset included, refuses to start.
LOCAL_ENVIRONMENTS = frozenset({"development", "dev", "local", "test"})


class Settings(AuthSettings):
    """dev settings: refuse to exist anywhere but on a developer's machine."""

    app_env: str = Field(
        default="",
        validation_alias=AliasChoices("APP_ENV", "AUTH_APP_ENV"),
        description="Where the service runs; dev mode starts only with development, dev, local or test.",
    )

    @model_validator(mode="after")
    def _only_on_a_local_machine(self) -> Settings:
        if self.app_env.strip().lower() not in LOCAL_ENVIRONMENTS:
            raise ValueError(
                "dev auth mode does not check token signatures and runs only with APP_ENV=development "
                f"(or dev, local, test), not with APP_ENV={self.app_env.strip() or '(unset)'}; to deploy, "
                "re-bake the project with auth_mode=hs256 or jwks"
            )
        return self


def signing_key(settings: Settings) -> SigningKey:
    """A throwaway key: dev mode never checks signatures, so any key will do."""
    return tokens.load_key(secrets.token_urlsafe(32), ALGORITHM)


class Verifier:
    """Accept any signature. Start-up says so loudly."""

    algorithms = KNOWN_ALGORITHMS
    rotates_keys = False
    require_exp = False

    def __init__(self, settings: Settings) -> None:
        self._env = settings.app_env

    async def check(self, token: ParsedToken) -> None:
        """Deliberately empty: this is what makes dev mode unsafe."""

    def key_generation(self) -> int:
        """The key never changes while the service runs."""
        return 0

    def is_ready(self) -> bool:
        """Always: no key is needed."""
        return True

    def refresh_if_due(self) -> None:
        """Nothing to refresh: the key never changes."""

    async def start(self) -> None:
        logger.warning(
            "!!! AUTH MODE 'dev': TOKEN SIGNATURES ARE NOT CHECKED (APP_ENV=%s). "
            "Anyone can forge a token. Never expose this service to real traffic. !!!",
            self._env,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
