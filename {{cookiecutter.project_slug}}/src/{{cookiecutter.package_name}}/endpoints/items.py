"""An endpoint that needs a scope on top of a valid token."""

from __future__ import annotations

from fastapi import APIRouter, Security
from pydantic import BaseModel

from ..dependency import has_access

router = APIRouter(tags=["items"])


class Item(BaseModel):
    """One item, as `/items` lists it."""

    id: int
    name: str


ITEMS = [Item(id=1, name="hammer"), Item(id=2, name="screwdriver")]


# The route does not read the claims, so the scope is asked for on the decorator; a route that reads
# them takes ``claims: Annotated[TokenClaims, Security(has_access, scopes=[...])]`` instead.
@router.get("", dependencies=[Security(has_access, scopes=["items:read"])])
async def list_items() -> list[Item]:
    """List the items; needs the ``items:read`` scope."""
    return ITEMS
