"""Settings of a service whose users log in at an upstream OpenID provider (``AUTH_LOGIN_*``)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from .jwks_cache import LOOPBACK_HOSTS, check_url
from .login_settings import LoginSettings
from .settings import Words
from .verifier import PLACEHOLDERS

# Domains reserved for documentation (RFC 2606): .env.example's issuer is one, and no provider lives there.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")


class Settings(LoginSettings):
    """Which provider, which client registered there, and what new users may do."""

    login_issuer: str = Field(
        description="The provider's issuer; its endpoints and keys come from OIDC discovery, whose issuer must match."
    )
    login_client_id: str = Field(min_length=1, description="This service's client ID at the provider.")
    login_client_secret: SecretStr = Field(description="This service's client secret at the provider.")
    login_client_auth: Literal["client_secret_basic", "client_secret_post"] = Field(
        default="client_secret_basic", description="How the client authenticates at the provider's token endpoint."
    )
    login_redirect_uri: str = Field(
        description="Where the provider sends the browser back: a front-end page, or this service's GET /authorize."
    )
    login_scopes: Words = Field(
        default="openid email profile", validate_default=True, description="Scopes asked of the provider."
    )
    login_new_user_scopes: Words = Field(
        default="", validate_default=True, description="Scopes a user gets on the first login, space-separated."
    )

    @field_validator("login_issuer", "login_redirect_uri")
    @classmethod
    def _secure_url(cls, value: str) -> str:
        if urlsplit(value).fragment:
            raise ValueError(f"{value!r} must not have a #fragment")
        return check_url(value)

    @field_validator("login_issuer")
    @classmethod
    def _real_issuer(cls, value: str) -> str:
        host = (urlsplit(value).hostname or "").rstrip(".")
        if any(host == domain or host.endswith(f".{domain}") for domain in EXAMPLE_DOMAINS):
            raise ValueError(
                f"AUTH_LOGIN_ISSUER {value!r} is an example address; set it to your OpenID provider's issuer"
            )
        return value

    @field_validator("login_client_id")
    @classmethod
    def _real_client_id(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDERS:
            raise ValueError("AUTH_LOGIN_CLIENT_ID is a placeholder; use the client ID the provider gave you")
        return value

    @field_validator("login_client_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip().lower().startswith(PLACEHOLDERS):
            raise ValueError("AUTH_LOGIN_CLIENT_SECRET is a placeholder; use the secret the provider gave you")
        return value

    @field_validator("login_scopes")
    @classmethod
    def _openid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("AUTH_LOGIN_SCOPES must include openid")
        return value

    @property
    def login_cookie_secure(self) -> bool:
        """Whether the login cookie is ``Secure``: always, except for a plain-http redirect on loopback."""
        parts = urlsplit(self.login_redirect_uri)
        return not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
