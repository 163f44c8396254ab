"""The provider's ID tokens: signature, claims and nonce checked, and the identity they name.

The signature is checked with the provider's keys, chosen by ``kid`` from our
own cache (the ``JwksCache`` of ``jwks_cache.py``); the algorithm must be an
asymmetric one. Then ``iss`` must be the configured issuer exactly, ``aud``
must hold our client ID (and ``azp`` name us when there are several), ``exp``
must not have passed, and ``nonce`` must be the one this login sent.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from . import tokens
from .claims import ClaimRules, validate_claims
from .errors import InvalidTokenError, KeyUnavailableError
from .jwks_cache import JwksCache
from .login_errors import LoginRefusedError, ProviderUnavailableError

# Asymmetric only: an HS256 ID token would be signed with our client secret, which we never verify with.
ID_TOKEN_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_ID_TOKEN_BYTES = 16 * 1024
# An ID token is read once, right after it is issued; none of a day's lifetime is plausible.
MAX_ID_TOKEN_LIFETIME = 24 * 3600
MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core §2
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Identity:
    """Who the provider says logged in: ``(issuer, subject)`` is the key; email only when verified."""

    issuer: str
    subject: str
    email: str | None
    name: str | None


def _text(value: object, limit: int) -> str | None:
    """A string claim fit to store and show; None for anything else, control characters included.

    A user may edit a display name at the provider: a NUL in it must not fail the login (PostgreSQL
    refuses NUL in text).
    """
    if not isinstance(value, str) or not 0 < len(value) <= limit or CONTROL_CHARACTER.search(value):
        return None
    return value


def identity_from(claims: dict[str, Any]) -> Identity:
    """The identity in verified ID token claims; an unverified email is dropped, never trusted."""
    subject = _text(claims.get("sub"), MAX_SUBJECT_LENGTH)
    if subject is None:
        raise LoginRefusedError("id_token_sub_invalid")
    email = _text(claims.get("email"), MAX_EMAIL_LENGTH) if claims.get("email_verified") is True else None
    return Identity(str(claims["iss"]), subject, email, _text(claims.get("name"), MAX_NAME_LENGTH))


class IdTokenVerifier:
    """Check ID tokens from one issuer, for one client."""

    def __init__(self, jwks: JwksCache, *, issuer: str, client_id: str, leeway: float) -> None:
        self.jwks = jwks
        self.client_id = client_id
        self.rules = ClaimRules(
            issuers=frozenset({issuer}),
            audience=client_id,
            leeway=leeway,
            require_exp=True,
            require_iat=True,  # OpenID Connect Core §2: exp and iat are required
            scope_paths=(),
            max_lifetime=MAX_ID_TOKEN_LIFETIME,
        )

    async def verify(self, id_token: str, nonce: str) -> Identity:
        """The identity the ID token names, once every check has passed."""
        try:
            parsed = tokens.parse(id_token, max_bytes=MAX_ID_TOKEN_BYTES, algorithms=ID_TOKEN_ALGORITHMS)
            tokens.verify_signature(parsed, await self.jwks.key_for(parsed.kid, parsed.alg))
            checked = validate_claims(parsed.claims, self.rules)
        except InvalidTokenError as exc:
            raise LoginRefusedError(f"id_token_{exc.reason}") from None
        except KeyUnavailableError as exc:
            raise ProviderUnavailableError(exc.reason, exc.retry_after) from None
        claims = checked.raw
        # OpenID Connect Core §3.1.3.7: with several audiences, azp must name us.
        azp = claims.get("azp")
        if (len(checked.aud) > 1 or azp is not None) and azp != self.client_id:
            raise LoginRefusedError("id_token_azp_mismatch")
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise LoginRefusedError("id_token_nonce_mismatch")
        return identity_from(claims)
