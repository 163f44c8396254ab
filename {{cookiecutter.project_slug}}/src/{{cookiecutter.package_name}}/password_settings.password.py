"""Settings of a service whose users log in with a username and password."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .login_settings import DatabaseSettings, LoginSettings


class PasswordRules(DatabaseSettings):
    """What the users CLI needs to set a password: the database and the rules, no secret.

    So ``docker compose run --rm migrate python -m {{ cookiecutter.package_name }}.users ...`` works in a
    container that holds only ``DATABASE_URL``.
    """

    password_min_length: int = Field(default=12, ge=8, le=128, description="Shorter passwords are refused.")
    # Read by the users CLI only, when it sets a password: the service starts without it.
    password_blocklist_file: Path | None = Field(
        default=None,
        description="A text file of refused passwords, one per line (such as a list of breached ones); "
        "compared regardless of case.",
    )


class Settings(LoginSettings, PasswordRules):
    """Password rules and the throttling of failed logins."""

    login_failures_per_username: int = Field(
        default=5, ge=1, description="Failed logins allowed per username within the window, then 429."
    )
    login_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins allowed per client (IPv4 address, IPv6 /64) within the window."
    )
    login_failure_window_seconds: int = Field(
        default=300, ge=1, description="How long a failed login counts against its username and address."
    )
