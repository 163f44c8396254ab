"""The tables, as typed SQLAlchemy 2 models. Alembic migrations in ``migrations/`` create them.

Times that tokens are compared with are whole epoch seconds (``int``), like the
``iat`` and ``exp`` claims; the others are timezone-aware datetimes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, {% if cookiecutter.login == "password" %}Float, {% endif %}ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_user_id() -> str:
    """A stable, opaque user id: what ``sub`` carries, never the username or email."""
    return secrets.token_hex(16)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """Someone who can log in. A password user has a username; an OIDC user may have only an email."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_user_id)
    username: Mapped[str | None] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    # Space-separated, like the scope claim.
    scopes: Mapped[str] = mapped_column(Text, default="")
    disabled: Mapped[bool] = mapped_column(default=False)
    # Access tokens issued (iat) before this epoch second are refused; 0 = none.
    not_before: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, onupdate=utc_now)


class RefreshToken(Base):
    """One refresh token, stored only as its SHA-256. Every token of one login shares ``session_id``."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    # SQLite numbers rows itself only for a column typed exactly INTEGER.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[int] = mapped_column(BigInteger)
    # Idle expiry of this token, and the absolute end of its session.
    expires_at: Mapped[int] = mapped_column(BigInteger)
    session_expires_at: Mapped[int] = mapped_column(BigInteger)
    # Set when it is exchanged for a new one; presenting it again is theft.
    spent_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    # The access token issued with it, denied too when its session is revoked.
    access_jti: Mapped[str] = mapped_column(String(64))
    access_expires_at: Mapped[int] = mapped_column(BigInteger)


class RevokedAccessToken(Base):
    """The deny-list: access tokens logged out before their ``exp``, keyed by issuer and ``jti``."""

    __tablename__ = "revoked_access_tokens"

    issuer: Mapped[str] = mapped_column(String(255), primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Kept until the token's exp plus the leeway, when it could no longer pass anyway.
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
{%- if cookiecutter.login == "password" %}


class LoginFailure(Base):
    """A password login that failed, or is still being checked: counted against its key for a while.

    Every worker and replica counts the same rows (``throttle.py``); rows older than the window are deleted.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"), Index("ix_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    # "user:" or "addr:" and an HMAC-SHA256 (hex) of the username as typed or of the client's network.
    key: Mapped[str] = mapped_column(String(80))
    # When it was attempted, in epoch seconds with their fraction.
    at: Mapped[float] = mapped_column(Float)
    # Until the password is checked: a limit full of attempts in flight frees up within a second or so.
    in_flight: Mapped[bool] = mapped_column(default=True)
{%- endif %}
