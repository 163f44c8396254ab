"""Why an OIDC login fails: the exceptions the provider client raises and the login routes answer.

Each ``reason`` is a short code that is safe to log: never a code, token or secret.
"""

from __future__ import annotations

# What a provider may send back instead of a code (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
# The login passes these on to the client; anything else could be any text, and is not echoed.
PROVIDER_ERRORS = frozenset(
    {
        "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
        "server_error", "temporarily_unavailable", "interaction_required", "login_required",
        "account_selection_required", "consent_required", "invalid_request_uri", "invalid_request_object",
        "request_not_supported", "request_uri_not_supported", "registration_not_supported",
    }
)  # fmt: skip


class LoginRefusedError(Exception):
    """What the provider sent back cannot log anyone in: 400 ``invalid_grant``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailableError(Exception):
    """The provider cannot be reached right now: 503 with ``Retry-After``."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
