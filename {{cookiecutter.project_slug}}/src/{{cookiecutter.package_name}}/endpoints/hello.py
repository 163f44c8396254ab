"""The simplest protected route: its router is protected as a whole in ``main.py``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["hello"])


@router.get("")
async def say_hi(name: str) -> str:
    """Greet the caller; reaching this means the token was valid."""
    return f"Hi {name}"
