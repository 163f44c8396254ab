"""Why a request is refused: the exceptions every layer below ``dependency.py`` raises.

They live here, at the bottom, so that nothing has to import upward to raise them.
Each ``reason`` is a short code that is safe to log: it never contains the token.
"""

from __future__ import annotations


class InvalidTokenError(Exception):
    """The token must be refused with 401 ``invalid_token``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRequestError(Exception):
    """The request is malformed as RFC 6750 §3.1 says (such as two ``Authorization`` headers): 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyUnavailableError(Exception):
    """No signing key can be had right now; the request gets 503 with ``Retry-After``."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class InvalidProofError(Exception):
    """The DPoP proof must be refused with 401 ``invalid_dpop_proof`` (RFC 9449 §7.1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
