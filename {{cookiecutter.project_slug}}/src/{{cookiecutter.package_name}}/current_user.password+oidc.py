"""``CurrentUser``: the database user a verified access token names, for routes that need more than claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status

from .db import SessionDep
from .dependency import Claims
from .models import User


async def get_current_user(claims: Claims, db: SessionDep) -> User:
    """The user whose id is the token's ``sub``; 404 if the token names no user (a minted service token)."""
    user = await db.get(User, claims.sub)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No user has this token's subject")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
