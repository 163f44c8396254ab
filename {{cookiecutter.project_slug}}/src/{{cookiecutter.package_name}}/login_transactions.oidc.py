"""Login transactions: the state, nonce and PKCE verifier of one login at the provider, kept server-side.

``GET /login`` starts one and sets a cookie that binds it to the browser; ``/authorize``
takes it back, once, by its ``state`` and that cookie (RFC 9700 §4.7: without the
binding a stranger's code could log the victim in as the stranger). A transaction
is spent by a single conditional ``DELETE ... RETURNING``, so a replayed or racing
``state`` finds nothing, and it expires after ``TRANSACTION_TTL`` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.responses import Response

from .models import Base

TRANSACTION_TTL = 600
# The __Host- prefix pins a Secure cookie to this host and path /: no subdomain can set or shadow it.
COOKIE, SECURE_COOKIE = "login_binding", "__Host-login_binding"
MAX_STATE_LENGTH = 128
# How _random spells a state; anything else (a NUL, which PostgreSQL cannot even compare) names no login.
STATE_SPELLING = re.compile(r"[A-Za-z0-9_-]+")
# 32 random bytes each: 256 bits, well above the 128 that RFC 9700 asks of state.
RANDOM_BYTES = 32


def _random() -> str:
    return secrets.token_urlsafe(RANDOM_BYTES)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class LoginTransactionRow(Base):
    """One login in progress; the browser's binding is stored as its SHA-256 only."""

    __tablename__ = "login_transactions"

    state: Mapped[str] = mapped_column(String(MAX_STATE_LENGTH), primary_key=True)
    binding_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


@dataclass(frozen=True)
class LoginTransaction:
    """A fresh login: ``binding`` goes into the browser's cookie, the rest stays here."""

    state: str = field(default_factory=_random)
    nonce: str = field(default_factory=_random)
    code_verifier: str = field(default_factory=_random)
    binding: str = field(default_factory=_random)

    @property
    def code_challenge(self) -> str:
        """PKCE S256 (RFC 7636 §4.2): base64url of the verifier's SHA-256, unpadded."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def save_transaction(db: AsyncSession, transaction: LoginTransaction, *, now: int | None = None) -> None:
    """Store a new transaction, and drop the expired ones (logins started and never finished)."""
    now = int(time.time()) if now is None else now
    await db.execute(delete(LoginTransactionRow).where(LoginTransactionRow.expires_at <= now))
    db.add(
        LoginTransactionRow(
            state=transaction.state,
            binding_hash=_sha256(transaction.binding),
            nonce=transaction.nonce,
            code_verifier=transaction.code_verifier,
            expires_at=now + TRANSACTION_TTL,
        )
    )
    await db.commit()


async def take_transaction(db: AsyncSession, state: str, binding: str, *, now: int | None = None) -> LoginTransaction:
    """Spend the transaction that ``state`` and the browser's ``binding`` name; raise ``LookupError`` if none.

    A wrong or missing binding leaves the transaction alone, so a forged request
    cannot spend the login of the browser that really started it.
    """
    now = int(time.time()) if now is None else now
    if len(state) > MAX_STATE_LENGTH or not STATE_SPELLING.fullmatch(state):
        raise LookupError("state_invalid")
    spent = await db.execute(
        delete(LoginTransactionRow)
        .where(LoginTransactionRow.state == state, LoginTransactionRow.expires_at > now)
        .where(LoginTransactionRow.binding_hash == _sha256(binding))
        .returning(LoginTransactionRow.nonce, LoginTransactionRow.code_verifier)
    )
    row = spent.one_or_none()
    await db.commit()
    if row is None:
        raise LookupError("state_unknown_expired_or_spent")
    return LoginTransaction(state=state, nonce=row.nonce, code_verifier=row.code_verifier, binding=binding)


def set_binding_cookie(response: Response, binding: str, *, secure: bool) -> None:
    """Bind a login to this browser: HttpOnly, SameSite=Lax (sent on the provider's redirect back), Secure."""
    response.set_cookie(
        SECURE_COOKIE if secure else COOKIE,
        binding,
        max_age=TRANSACTION_TTL,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_binding_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SECURE_COOKIE if secure else COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


def binding_of(request: Request, *, secure: bool) -> str | None:
    """The binding the browser sent back, if any."""
    return request.cookies.get(SECURE_COOKIE if secure else COOKIE) or None
