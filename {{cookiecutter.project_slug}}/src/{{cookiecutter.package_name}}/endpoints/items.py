"""An endpoint that needs a scope on top of a valid token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ..dependency import require_scopes
from ..tokens import TokenClaims

router = APIRouter(tags=["items"])

ITEMS = [{"id": 1, "name": "hammer"}, {"id": 2, "name": "screwdriver"}]


@router.get("")
async def list_items(
    claims: Annotated[TokenClaims, Depends(require_scopes("items:read"))],
) -> list[dict[str, object]]:
    """List the items; needs the ``items:read`` scope."""
    return ITEMS
