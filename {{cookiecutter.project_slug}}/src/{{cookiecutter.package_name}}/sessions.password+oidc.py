"""Logins as sessions: issue tokens, rotate refresh tokens, end sessions. The security logic, step by step.

A refresh token is 256 random bits, stored only as its SHA-256. Each login is a
session (``session_id``, the ``sid`` claim); refreshing spends the presented
token and issues the next one of the same session. A spent token presented
again is taken as theft, and the whole session is revoked. Each refusal has a
log-safe reason code; the client sees only ``invalid_grant``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from typing import NoReturn

from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from .access_tokens import AccessTokenSigner
from .login_settings import LoginSettings
from .models import RefreshToken, RevokedAccessToken, User
from .oauth_errors import OAuthError, invalid_grant
from .revocation import RevocationView
from .revocation_watcher import announce

REFRESH_TOKEN_BYTES = 32


class TokenResponse(BaseModel):
    """A successful token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the token type, not a secret
    expires_in: int
    refresh_token: str
    scope: str


def hash_refresh_token(token: str) -> str:
    """What is stored: a fast hash is enough for 256 random bits, and it can be looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def granted_scopes(allowed: str, requested: str | None) -> str:
    """The scopes to grant: all of ``allowed`` unless fewer were asked for; more is ``invalid_scope``."""
    allowed_set = set(allowed.split())
    if requested is None or not requested.strip():
        return " ".join(sorted(allowed_set))
    asked = set(requested.split())
    if not asked <= allowed_set:
        raise OAuthError("invalid_scope", "A requested scope is not granted to this user.", reason="scope_not_allowed")
    return " ".join(sorted(asked))


class Sessions:
    """The session operations of one service, with its settings, signer and revocation view."""

    def __init__(self, settings: LoginSettings, revocations: RevocationView) -> None:
        self.settings = settings
        self.signer = AccessTokenSigner(settings)
        self.revocations = revocations
        self._leeway = math.ceil(settings.leeway_seconds)

    async def issue_tokens(
        self,
        db: AsyncSession,
        user: User,
        scopes: str,
        *,
        session_id: str | None = None,
        session_expires_at: int | None = None,
    ) -> TokenResponse:
        """An access token and a refresh token for ``user``: a new session unless ``session_id`` continues one.

        ``user`` is as the caller read it, before its password check or refresh: the tokens are only
        issued if it is still so (``invalid_grant`` otherwise).
        """
        now = int(time.time())
        await self._hold_unchanged(db, user)
        session_id = session_id or secrets.token_hex(16)
        access = self.signer.sign(user.id, session_id, scopes, now=now, not_before=user.not_before)
        # As the access token's iat: a login in the second of a revocation is dated after it, not refused.
        issued_at = max(now, user.not_before)
        refresh_token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        db.add(
            RefreshToken(
                token_hash=hash_refresh_token(refresh_token),
                user_id=user.id,
                session_id=session_id,
                scopes=scopes,
                issued_at=issued_at,
                expires_at=now + self.settings.refresh_token_ttl,
                session_expires_at=session_expires_at or now + self.settings.session_max_age,
                access_jti=access.jti,
                access_expires_at=access.expires_at,
            )
        )
        await db.commit()
        return TokenResponse(
            access_token=access.token,
            expires_in=self.settings.access_token_ttl,
            refresh_token=refresh_token,
            scope=scopes,
        )

    async def _hold_unchanged(self, db: AsyncSession, user: User) -> None:
        """Lock the user's row until the commit, if it is unchanged since ``user`` was read.

        A revocation, a new password or a disable committed while a login was under way (an argon2id
        check takes a while) changed ``not_before``: the login is refused instead of outliving it. One
        committed after this lock waits for the commit, and dates itself after these tokens' ``iat``
        (``end_user_sessions``). No flush first: a rehashed password is written under the lock only.
        """
        with db.no_autoflush:
            held = await lock_user_row(db, user.id, User.not_before == user.not_before, User.disabled.is_(False))
        if not held:
            await db.rollback()
            raise invalid_grant("user_changed_during_login")

    async def rotate_refresh_token(self, db: AsyncSession, presented: str, requested: str | None) -> TokenResponse:
        """Spend ``presented`` and issue the next tokens of its session; exactly one of two racing callers wins."""
        now = int(time.time())
        token_hash = hash_refresh_token(presented)
        # Spending first, in one conditional UPDATE, is what makes the race safe on SQLite and PostgreSQL.
        spent = await db.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.spent_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
                RefreshToken.session_expires_at > now,
            )
            .values(spent_at=now)
            .returning(
                RefreshToken.user_id,
                RefreshToken.session_id,
                RefreshToken.scopes,
                RefreshToken.issued_at,
                RefreshToken.session_expires_at,
            )
        )
        row = spent.one_or_none()
        if row is None:
            await self._refuse_refresh(db, token_hash, now)
        user_id, session_id, scopes, issued_at, session_expires_at = row
        user = await db.get(User, user_id)
        if user is None or user.disabled or issued_at < user.not_before:
            await self.revoke_session(db, session_id, now=now)
            await db.commit()
            raise invalid_grant("user_disabled_or_revoked")
        # The user may have lost scopes since the login; a refresh never brings them back.
        current = " ".join(sorted(set(scopes.split()) & set(user.scopes.split())))
        granted = granted_scopes(current, requested)
        return await self.issue_tokens(db, user, granted, session_id=session_id, session_expires_at=session_expires_at)

    async def _refuse_refresh(self, db: AsyncSession, token_hash: str, now: int) -> NoReturn:
        known = await db.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
        if known is None:
            await db.rollback()
            raise invalid_grant("refresh_token_unknown")
        if known.spent_at is not None and known.revoked_at is None:
            await self.revoke_session(db, known.session_id, now=now)
            await db.commit()
            raise invalid_grant("refresh_token_reused")
        reason = "refresh_token_revoked" if known.revoked_at is not None else "refresh_token_expired"
        await db.rollback()
        raise invalid_grant(reason)

    async def revoke_session(
        self, db: AsyncSession, session_id: str, *, user_id: str | None = None, now: int | None = None
    ) -> None:
        """End one login (of ``user_id`` only, when given): refresh tokens stop working, access tokens are denied.

        The caller commits.
        """
        now = int(time.time()) if now is None else now
        of_session = [RefreshToken.session_id == session_id]
        if user_id is not None:
            of_session.append(RefreshToken.user_id == user_id)
        unrevoked = RefreshToken.revoked_at.is_(None)
        await db.execute(update(RefreshToken).where(*of_session, unrevoked).values(revoked_at=now))
        # Access tokens pass until exp plus the leeway: those expired a moment ago still need denying.
        live = await db.execute(
            select(RefreshToken.access_jti, RefreshToken.access_expires_at).where(
                *of_session, RefreshToken.access_expires_at + self._leeway > now
            )
        )
        for jti, expires_at in live.all():
            await self.deny_access_token(db, jti, expires_at, now=now)

    async def revoke_session_of(self, db: AsyncSession, refresh_token: str, *, user_id: str, now: int) -> None:
        """End the login a refresh token belongs to, if it is ``user_id``'s; the caller commits."""
        session_id = await db.scalar(
            select(RefreshToken.session_id).where(
                RefreshToken.token_hash == hash_refresh_token(refresh_token), RefreshToken.user_id == user_id
            )
        )
        if session_id is not None:
            await self.revoke_session(db, session_id, user_id=user_id, now=now)

    async def deny_access_token(
        self, db: AsyncSession, jti: str, expires_at: int, *, now: int, issuer: str | None = None
    ) -> None:
        """Put one access token (its ``iss``, else ours, and ``jti``) on the deny-list; the caller commits.

        It stays there while the token could still pass: until its ``exp`` plus the leeway.
        """
        issuer = issuer or self.settings.issuer or ""
        refused_until = expires_at + self._leeway
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        await db.execute(
            dialect.insert(RevokedAccessToken)
            .values(issuer=issuer, jti=jti, expires_at=refused_until)
            .on_conflict_do_nothing()
        )
        # Entries past that time refuse nothing any more.
        await db.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= now))
        await announce(db, {"iss": issuer, "jti": jti, "exp": refused_until})
        self.revocations.deny(jti, refused_until)

    async def end_user_sessions(self, db: AsyncSession, user: User) -> None:
        """``end_user_sessions``, and this worker's revocation view at once; the caller commits."""
        await end_user_sessions(db, user)
        self.revocations.set_not_before(user.id, user.not_before)


async def end_user_sessions(db: AsyncSession, user: User) -> None:
    """Refuse every token ``user`` holds (``users revoke``/``disable``, a new password); the caller commits.

    Every worker learns it from the announcement, so the users CLI needs no signing key to do it.
    """
    # Lock the row first (a login holding it commits before this goes on: Sessions._hold_unchanged), then
    # take the time, so that every token issued before the revocation is dated before not_before.
    await lock_user_row(db, user.id)
    now = int(time.time())
    # The next second: tokens issued in this one, before the revocation, are refused too. And always later
    # than the last one: of two changes in one second (users revoke, then set-password), the second must
    # refuse a login that read the user between them. Only changes in the same second push it further.
    later = case((User.not_before > now, User.not_before + 1), else_=now + 1)
    raised = await db.execute(
        update(User)
        .where(User.id == user.id)
        .values(not_before=later)
        .returning(User.not_before)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(user, "not_before", raised.scalar_one())
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await announce(db, {"user": user.id, "not_before": user.not_before})


async def lock_user_row(db: AsyncSession, user_id: str, *conditions: ColumnElement[bool]) -> bool:
    """Lock a user's row until the commit, if it meets ``conditions``; whether it did.

    A write that changes nothing: PostgreSQL locks the row, SQLite the database, where a ``SELECT``
    would lock nothing on SQLite.
    """
    locked = await db.execute(
        update(User)
        .where(User.id == user_id, *conditions)
        .values(not_before=User.not_before)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    return locked.one_or_none() is not None
