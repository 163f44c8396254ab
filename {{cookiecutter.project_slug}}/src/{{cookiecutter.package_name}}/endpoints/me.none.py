"""Who the token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter

from ..claims import TokenClaims
from ..dependency import Claims

router = APIRouter(tags=["me"])


@router.get("")
async def read_me(claims: Claims) -> TokenClaims:
    """Return the verified claims of the caller's token."""
    return claims
