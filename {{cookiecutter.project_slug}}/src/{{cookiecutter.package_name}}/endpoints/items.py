"""An endpoint that needs a scope on top of a valid token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Security

from ..claims import TokenClaims
from ..dependency import has_access

router = APIRouter(tags=["items"])

ITEMS = [{"id": 1, "name": "hammer"}, {"id": 2, "name": "screwdriver"}]


@router.get("")
async def list_items(
    claims: Annotated[TokenClaims, Security(has_access, scopes=["items:read"])],
) -> list[dict[str, object]]:
    """List the items; needs the ``items:read`` scope."""
    return ITEMS
