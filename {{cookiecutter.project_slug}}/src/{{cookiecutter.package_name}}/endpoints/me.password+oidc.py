"""Who the caller is: the user the access token names, read from the database."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ..current_user import CurrentUser

router = APIRouter(tags=["me"])


class User(BaseModel):
    """A user as the API shows it: never the password hash."""

    id: str
    username: str | None
    email: str | None
    scopes: list[str]
    disabled: bool


@router.get("", response_model=User)
async def read_me(user: CurrentUser) -> User:
    """Return the caller's user record."""
    return User(
        id=user.id, username=user.username, email=user.email, scopes=user.scopes.split(), disabled=user.disabled
    )
