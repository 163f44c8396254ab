"""Who the token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter

from ..dependency import Claims
from ..tokens import TokenClaims

router = APIRouter(tags=["me"])


@router.get("")
async def read_me(claims: Claims) -> TokenClaims:
    """Return the verified claims of the caller's token."""
    return claims
