"""Users found by their provider identity, with the email the provider verifies now and no other."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.id_tokens import Identity
from {{ cookiecutter.package_name }}.identities import user_for

from .fixtures import BACKENDS

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend", BACKENDS)]

ISSUER = "https://accounts.example.test"


async def log_in(accounts: Accounts, subject: str, email: str | None) -> tuple[str, str | None]:
    """The user ``subject`` logs in as, and that user's email afterwards."""
    async with accounts.database.sessions() as db:
        user = await user_for(db, Identity(ISSUER, subject, email, subject.title()), new_user_scopes="")
        return user.id, user.email


async def test_a_user_holds_only_the_email_the_provider_verifies_now(accounts: Accounts) -> None:
    shared = "shared@corp.example"
    first, email = await log_in(accounts, "ann", shared)
    assert email == shared
    # The provider no longer vouches for it: the users CLI must not name ann by it any more.
    assert await log_in(accounts, "ann", None) == (first, None)
    # So its new owner gets it...
    second, email = await log_in(accounts, "bob", shared)
    assert (second != first, email) == (True, shared)
    # ...and keeps it when ann's provider verifies it for ann again: ann gets none rather than a stale one.
    assert await log_in(accounts, "ann", shared) == (first, None)
    assert await log_in(accounts, "bob", shared) == (second, shared)
