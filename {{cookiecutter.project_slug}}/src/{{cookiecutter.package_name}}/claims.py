"""Claim policy: what a verified token's claims must say, and the typed claims a route receives.

Every registered claim is checked strictly (RFC 7519 §4.1, RFC 8725 §3.8-3.9),
a token may not live longer than the settings allow, and an OpenID ID token is
never taken for an access token (RFC 8725 §3.11); each failure raises
``InvalidTokenError`` with a log-safe reason code. These checks run once per
token: the verified-token cache re-checks only ``exp`` and ``nbf``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidTokenError
from .settings import AuthSettings


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of an access token; ``raw`` holds every claim as sent.

    A frozen dataclass, not a pydantic model: it is built once per new token from claims that
    ``validate_claims`` has just checked, and a model would check them again, which took about
    half the claim check's time. One instance is shared by every request with the same token,
    hence frozen. FastAPI serialises it like a model.
    """

    sub: str
    scopes: frozenset[str] = frozenset()
    iss: str | None = None
    aud: tuple[str, ...] = ()
    exp: float | None = None
    nbf: float | None = None
    # The JWK thumbprint of the key the token is bound to (``cnf.jkt``, RFC 9449); None for a bearer token.
    jkt: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


# Tells a claim that is absent from one that is present as null.
_ABSENT: Any = object()


def _numeric_date(value: Any, name: str, *, required: bool) -> float | None:
    """A NumericDate claim's value (``_ABSENT`` when the claim is not there) as a float."""
    # type(), not isinstance(): bool is an int subclass, but never a NumericDate.
    if type(value) is int or type(value) is float:
        try:
            return float(value)
        except OverflowError:  # an integer too large for a float
            raise InvalidTokenError(f"{name}_invalid") from None
    if value is _ABSENT:
        if required:
            raise InvalidTokenError(f"{name}_missing")
        return None
    raise InvalidTokenError(f"{name}_invalid")


def _audiences(aud: Any) -> tuple[str, ...]:
    if type(aud) is str:
        return (aud,)
    if aud is _ABSENT:
        return ()
    if isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud):
        return tuple(aud)
    raise InvalidTokenError("aud_invalid")


def _claim_at(claims: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = claims
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _scopes(claims: Mapping[str, Any], scope_paths: Iterable[tuple[str, ...]]) -> frozenset[str]:
    found: set[str] = set()
    for path in scope_paths:
        value = claims.get(path[0]) if len(path) == 1 else _claim_at(claims, path)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return frozenset(found)


def _bound_key(claims: Mapping[str, Any]) -> str | None:
    """The DPoP key thumbprint a token is bound to; a binding we cannot check (e.g. mTLS) is refused."""
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt or set(cnf) != {"jkt"}:
        raise InvalidTokenError("unsupported_confirmation")
    return jkt


# An issuer setting holding this placeholder accepts that issuer for every allowed tenant (Entra ID multi-tenant).
TENANT_PLACEHOLDER = "{tenantid}"


def tenant_pattern(issuer: str) -> re.Pattern[str]:
    """The issuers a templated issuer stands for; the tenant is the ``tenant`` group."""
    head, _, tail = issuer.partition(TENANT_PLACEHOLDER)
    return re.compile(re.escape(head) + r"(?P<tenant>[0-9A-Za-z-]{1,64})" + re.escape(tail))


def _check_tenant_issuer(claims: Mapping[str, Any], iss: str | None, rules: ClaimRules) -> None:
    """Accept ``iss`` through a templated issuer: its tenant must be the token's ``tid`` and allowed."""
    for pattern in rules.tenant_issuers:
        match = pattern.fullmatch(iss or "")
        if match is None:
            continue
        tenant = match["tenant"]
        if claims.get("tid") != tenant:
            raise InvalidTokenError("tenant_mismatch")
        if tenant not in rules.allowed_tenants:
            raise InvalidTokenError("tenant_not_allowed")
        return
    raise InvalidTokenError("iss_mismatch")


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What the claims must satisfy; built once from the settings.

    ``issuers`` empty means any issuer; ``scope_paths`` are claim names split
    on dots, so ``("realm_access", "roles")`` reads a nested list; a token that
    carries any of ``id_token_claims``, or none of ``access_token_claims`` when there are any, is an ID token.
    """

    issuers: frozenset[str]
    audience: str | None
    leeway: float
    require_exp: bool
    scope_paths: tuple[tuple[str, ...], ...]
    max_lifetime: float
    require_iat: bool = False
    audience_claim: str = "aud"
    required: tuple[tuple[str, str], ...] = ()
    tenant_issuers: tuple[re.Pattern[str], ...] = ()
    allowed_tenants: frozenset[str] = frozenset()
    id_token_claims: frozenset[str] = frozenset()
    # A token carrying none of these is no access token (an ID token of a provider that marks its access tokens).
    access_token_claims: frozenset[str] = frozenset()


def validate_claims(claims: dict[str, Any], rules: ClaimRules, *, now: float | None = None) -> TokenClaims:
    """Check every registered claim, and the ones the settings require."""
    if not rules.id_token_claims.isdisjoint(claims) or (
        rules.access_token_claims and rules.access_token_claims.isdisjoint(claims)
    ):
        raise InvalidTokenError("id_token")
    now = time.time() if now is None else now
    leeway = rules.leeway
    get = claims.get
    exp = _numeric_date(get("exp", _ABSENT), "exp", required=rules.require_exp)
    nbf = _numeric_date(get("nbf", _ABSENT), "nbf", required=False)
    iat = _numeric_date(get("iat", _ABSENT), "iat", required=rules.require_iat)
    if exp is not None and exp <= now - leeway:
        raise InvalidTokenError("expired")
    if nbf is not None and nbf > now + leeway:
        raise InvalidTokenError("not_yet_valid")
    if iat is not None and iat > now + leeway:
        raise InvalidTokenError("issued_in_future")
    if exp is not None and (
        exp > now + rules.max_lifetime + leeway or (iat is not None and exp - iat > rules.max_lifetime)
    ):
        raise InvalidTokenError("lifetime_too_long")
    iss = get("iss")
    if iss is not None and type(iss) is not str:
        raise InvalidTokenError("iss_invalid")
    if rules.issuers and iss not in rules.issuers:
        _check_tenant_issuer(claims, iss, rules)
    aud = _audiences(get(rules.audience_claim, _ABSENT))
    if rules.audience is not None and rules.audience not in aud:
        raise InvalidTokenError("aud_mismatch")
    for name, expected in rules.required:
        if get(name) != expected:
            raise InvalidTokenError("required_claim_mismatch")
    sub = get("sub")
    if type(sub) is not str or not sub:
        raise InvalidTokenError("sub_invalid")
    jkt = _bound_key(claims)
    return TokenClaims(sub, _scopes(claims, rules.scope_paths), iss, aud, exp, nbf, jkt, claims)


def claim_rules(settings: AuthSettings, *, require_exp: bool) -> ClaimRules:
    """Turn the settings into the rules ``validate_claims`` applies."""
    primary = (settings.issuer, *settings.issuer_aliases) if settings.issuer else ()
    issuers = (*primary, *settings.extra_issuers)
    return ClaimRules(
        issuers=frozenset(issuers),
        audience=settings.audience,
        leeway=settings.leeway_seconds,
        require_exp=require_exp,
        scope_paths=tuple(tuple(name.split(".")) for name in settings.scope_claims),
        max_lifetime=settings.max_token_lifetime,
        audience_claim=settings.audience_claim,
        required=tuple((name, value) for name, _, value in (pair.partition("=") for pair in settings.required_claims)),
        tenant_issuers=tuple(tenant_pattern(issuer) for issuer in issuers if TENANT_PLACEHOLDER in issuer),
        allowed_tenants=frozenset(settings.allowed_tenants),
        id_token_claims=frozenset(settings.id_token_claims),
        access_token_claims=frozenset(settings.access_token_claims),
    )
