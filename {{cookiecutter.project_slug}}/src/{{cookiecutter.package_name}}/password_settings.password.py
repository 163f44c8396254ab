"""Settings of a service whose users log in with a username and password."""

from __future__ import annotations

from pydantic import Field

from .login_settings import LoginSettings


class Settings(LoginSettings):
    """Password rules and the throttling of failed logins."""

    password_min_length: int = Field(default=12, ge=8, le=128, description="Shorter passwords are refused.")
    login_failures_per_username: int = Field(
        default=5, ge=1, description="Failed logins allowed per username within the window, then 429."
    )
    login_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins allowed per client address within the window, then 429."
    )
    login_failure_window_seconds: int = Field(
        default=300, ge=1, description="How long a failed login counts against its username and address."
    )
