"""Sessions: issuing, rotating and revoking tokens, and the revocation view has_access consults."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from {{ cookiecutter.package_name }}.accounts import Accounts
from {{ cookiecutter.package_name }}.errors import InvalidTokenError
from {{ cookiecutter.package_name }}.models import RefreshToken, User
from {{ cookiecutter.package_name }}.oauth_errors import OAuthError
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings
from {{ cookiecutter.package_name }}.revocation import RevocationCheckingAuthenticator
from {{ cookiecutter.package_name }}.sessions import end_user_sessions, hash_refresh_token
from {{ cookiecutter.package_name }}.tokens import parse
from {{ cookiecutter.package_name }}.verifier import Verifier

from .fixtures import BACKENDS

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend", BACKENDS)]


@pytest.fixture
def authenticator(settings: Settings, accounts: Accounts) -> RevocationCheckingAuthenticator:
    return RevocationCheckingAuthenticator(settings, Verifier(settings), accounts.revocations)


async def add_user(accounts: Accounts, username: str = "alice", scopes: str = "items:read profile") -> User:
    async with accounts.database.sessions() as db:
        user = User(username=username, scopes=scopes)
        db.add(user)
        await db.commit()
        return user


async def test_issued_access_token_passes_has_access_with_its_claims(
    accounts: Accounts, authenticator: RevocationCheckingAuthenticator, settings: Settings
) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "items:read")
    claims = await authenticator.authenticate(issued.access_token)
    assert claims.sub == user.id != "alice"
    assert claims.scopes == {"items:read"}
    assert parse(issued.access_token, max_bytes=8192, algorithms=frozenset({"HS256"})).header["typ"] == "at+jwt"
    assert {"iss", "aud", "iat", "exp", "jti", "sid"} <= claims.raw.keys()
    assert claims.raw["exp"] - claims.raw["iat"] == settings.access_token_ttl
    assert issued.expires_in == settings.access_token_ttl
    assert len(issued.refresh_token) >= 43  # 256 bits in base64url


async def test_refresh_tokens_are_stored_only_as_a_hash(accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "")
        stored = (await db.scalars(select(RefreshToken))).one()
    assert stored.token_hash == hash_refresh_token(issued.refresh_token)
    assert issued.refresh_token not in {stored.token_hash, stored.session_id, stored.access_jti}


async def test_rotation_spends_the_old_token_and_keeps_the_session(accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        first = await accounts.sessions.issue_tokens(db, user, "items:read")
    async with accounts.database.sessions() as db:
        second = await accounts.sessions.rotate_refresh_token(db, first.refresh_token, None)
    assert second.refresh_token != first.refresh_token
    assert second.scope == "items:read"
    async with accounts.database.sessions() as db:
        rows = (await db.scalars(select(RefreshToken).order_by(RefreshToken.id))).all()
    assert [row.spent_at is not None for row in rows] == [True, False]
    assert rows[0].session_id == rows[1].session_id


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(
    accounts: Accounts, authenticator: RevocationCheckingAuthenticator
) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        first = await accounts.sessions.issue_tokens(db, user, "")
    async with accounts.database.sessions() as db:
        second = await accounts.sessions.rotate_refresh_token(db, first.refresh_token, None)
    with pytest.raises(OAuthError) as reused:
        async with accounts.database.sessions() as db:
            await accounts.sessions.rotate_refresh_token(db, first.refresh_token, None)
    assert (reused.value.error, reused.value.reason) == ("invalid_grant", "refresh_token_reused")
    with pytest.raises(OAuthError) as descendant:
        async with accounts.database.sessions() as db:
            await accounts.sessions.rotate_refresh_token(db, second.refresh_token, None)
    assert descendant.value.error == "invalid_grant"
    with pytest.raises(InvalidTokenError, match="revoked"):
        await authenticator.authenticate(second.access_token)


async def test_two_racing_rotations_of_one_token_have_exactly_one_winner(accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "")

    async def rotate() -> str:
        async with accounts.database.sessions() as db:
            try:
                await accounts.sessions.rotate_refresh_token(db, issued.refresh_token, None)
            except OAuthError as exc:
                return exc.error
            return "ok"

    outcomes = await asyncio.gather(*(rotate() for _ in range(4)))
    assert sorted(outcomes) == ["invalid_grant", "invalid_grant", "invalid_grant", "ok"]


async def test_a_scope_beyond_the_users_is_invalid_scope(accounts: Accounts) -> None:
    user = await add_user(accounts, scopes="items:read")
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "items:read")
    with pytest.raises(OAuthError) as refused:
        async with accounts.database.sessions() as db:
            await accounts.sessions.rotate_refresh_token(db, issued.refresh_token, "items:read admin")
    assert refused.value.error == "invalid_scope"


async def test_a_denied_access_token_is_refused_even_from_the_cache(
    accounts: Accounts, authenticator: RevocationCheckingAuthenticator
) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "")
    claims = await authenticator.authenticate(issued.access_token)
    assert authenticator.cache.get(issued.access_token) is not None
    async with accounts.database.sessions() as db:
        await accounts.sessions.deny_access_token(db, claims.raw["jti"], int(claims.raw["exp"]), now=0)
        await db.commit()
    with pytest.raises(InvalidTokenError, match="revoked"):
        await authenticator.authenticate(issued.access_token)


async def test_ending_a_users_sessions_refuses_older_tokens_but_not_the_next_login(
    accounts: Accounts, authenticator: RevocationCheckingAuthenticator
) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        before = await accounts.sessions.issue_tokens(db, user, "")
    await authenticator.authenticate(before.access_token)
    async with accounts.database.sessions() as db:
        stored = await db.get(User, user.id)
        assert stored is not None
        await accounts.sessions.end_user_sessions(db, stored)
        await db.commit()
        after = await accounts.sessions.issue_tokens(db, stored, "")
    with pytest.raises(InvalidTokenError, match="revoked_user"):
        await authenticator.authenticate(before.access_token)
    assert (await authenticator.authenticate(after.access_token)).sub == user.id
    with pytest.raises(OAuthError):
        async with accounts.database.sessions() as db:
            await accounts.sessions.rotate_refresh_token(db, before.refresh_token, None)
    # The login in the second of the revocation is dated after it: its refresh token works too.
    async with accounts.database.sessions() as db:
        assert (await accounts.sessions.rotate_refresh_token(db, after.refresh_token, None)).access_token


async def test_a_login_under_way_when_the_users_sessions_end_gets_no_tokens(accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as login:
        read = await login.get(User, user.id)  # what a login read before its password check
        assert read is not None
        async with accounts.database.sessions() as admin:  # meanwhile: users set-password (or revoke, disable)
            stored = await admin.get(User, user.id)
            assert stored is not None
            stored.password_hash = "the new password's hash"
            await end_user_sessions(admin, stored)
            await admin.commit()
        read.password_hash = "the old password, rehashed"  # a login that rehashes writes it with the tokens
        with pytest.raises(OAuthError) as refused:
            await accounts.sessions.issue_tokens(login, read, "")
    assert (refused.value.error, refused.value.reason) == ("invalid_grant", "user_changed_during_login")
    async with accounts.database.sessions() as db:
        assert (await db.scalars(select(RefreshToken))).all() == []
        after = await db.get(User, user.id)
        assert after is not None
        assert after.password_hash == "the new password's hash"  # not the old one written back
        # The next login, which reads the user as it is now, gets its tokens.
        assert (await accounts.sessions.issue_tokens(db, after, "")).access_token


async def test_two_changes_in_one_second_each_refuse_a_login_that_read_the_user_before_them(
    accounts: Accounts,
) -> None:
    user = await add_user(accounts)

    async def end_sessions() -> int:
        async with accounts.database.sessions() as admin:
            stored = await admin.get(User, user.id)
            assert stored is not None
            await end_user_sessions(admin, stored)
            await admin.commit()
            return stored.not_before

    first = await end_sessions()  # users revoke
    async with accounts.database.sessions() as login:
        read = await login.get(User, user.id)  # a login reads the user between the two changes
        assert read is not None
        second = await end_sessions()  # users set-password, a few milliseconds later: the same second
        with pytest.raises(OAuthError) as refused:
            await accounts.sessions.issue_tokens(login, read, "")
    assert second > first
    assert refused.value.reason == "user_changed_during_login"


async def refused_by_a_new_worker(settings: Settings, token: str) -> None:
    """Check that a worker started now, which reads the revocations from the database, refuses ``token``."""
    other = Accounts(settings)
    await other.start()
    try:
        checker = RevocationCheckingAuthenticator(settings, Verifier(settings), other.revocations)
        with pytest.raises(InvalidTokenError, match="revoked"):
            await checker.authenticate(token)
    finally:
        await other.aclose()


async def test_a_new_worker_loads_the_revocations_from_the_database(settings: Settings, accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "")
        await accounts.sessions.revoke_session(db, parse_sid(issued.access_token))
        await db.commit()
    await refused_by_a_new_worker(settings, issued.access_token)


async def test_a_logged_out_token_stays_refused_while_the_leeway_would_pass_it(
    settings: Settings, accounts: Accounts, authenticator: RevocationCheckingAuthenticator
) -> None:
    # Issued long enough ago that its exp passed a moment ago: has_access still takes it, within the leeway.
    now = int(time.time())
    issued_at = now - settings.access_token_ttl - 5
    issued = accounts.sessions.signer.sign("someone", "a-session", "", now=issued_at, not_before=0)
    assert issued.expires_at < now < issued.expires_at + settings.leeway_seconds
    assert (await authenticator.authenticate(issued.token)).sub == "someone"
    async with accounts.database.sessions() as db:
        await accounts.sessions.deny_access_token(db, issued.jti, issued.expires_at, now=now)
        await db.commit()
    accounts.revocations.merge({}, {}, now=time.time())  # what the watcher does on each poll
    with pytest.raises(InvalidTokenError, match="revoked"):
        await authenticator.authenticate(issued.token)
    await refused_by_a_new_worker(settings, issued.token)


async def test_ending_a_session_denies_its_access_token_expired_within_the_leeway(accounts: Accounts) -> None:
    user = await add_user(accounts)
    async with accounts.database.sessions() as db:
        issued = await accounts.sessions.issue_tokens(db, user, "")
        now = int(time.time())
        await db.execute(update(RefreshToken).values(access_expires_at=now - 5))
        await accounts.sessions.revoke_session(db, parse_sid(issued.access_token), now=now)
        await db.commit()
    jti = parse(issued.access_token, max_bytes=8192, algorithms=frozenset({"HS256"})).claims["jti"]
    assert jti in accounts.revocations.denied


def parse_sid(token: str) -> str:
    sid = parse(token, max_bytes=8192, algorithms=frozenset({"HS256"})).claims["sid"]
    assert isinstance(sid, str)
    return sid


async def test_access_tokens_may_not_outlive_what_has_access_accepts(settings: Settings) -> None:
    def with_lifetime(max_token_lifetime: float) -> Settings:
        # Every setting of the test's own (the oidc login needs its provider's too), validated anew.
        changed = {"access_token_ttl": 3600, "max_token_lifetime": max_token_lifetime}
        return Settings(_env_file=None, **{**settings.model_dump(), **changed})

    assert with_lifetime(3600).access_token_ttl == 3600
    with pytest.raises(ValidationError, match="AUTH_MAX_TOKEN_LIFETIME"):
        with_lifetime(600)
