"""Users who log in at the provider: found by ``(issuer, subject)``, created on their first login.

Never by email: an email can change hands at the provider, the subject cannot.
A user's email is the one the provider verified at their latest login, when no
other user has it; a login without a verified email (or with another user's)
clears it, so that the users CLI never names someone by an email they lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint, exc, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .id_tokens import Identity
from .models import Base, User, utc_now


class ExternalIdentity(Base):
    """A user's account at the provider, with the profile it last sent."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer_subject"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_login_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


async def _linked_user_id(db: AsyncSession, identity: Identity) -> str | None:
    return await db.scalar(
        select(ExternalIdentity.user_id).where(
            ExternalIdentity.issuer == identity.issuer, ExternalIdentity.subject == identity.subject
        )
    )


async def _create_user(db: AsyncSession, identity: Identity, scopes: str) -> str:
    """A new user linked to ``identity``, or the one a concurrent first login of it just created."""
    user = User(scopes=scopes)
    db.add(user)
    await db.flush()
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    linked = await db.execute(
        dialect.insert(ExternalIdentity)
        .values(issuer=identity.issuer, subject=identity.subject, user_id=user.id)
        .on_conflict_do_nothing(index_elements=["issuer", "subject"])
        .returning(ExternalIdentity.user_id)
    )
    if linked.one_or_none() is not None:
        await db.commit()
        return user.id
    await db.rollback()  # lost the race: drop our user, take theirs
    winner = await _linked_user_id(db, identity)
    if winner is None:
        raise LookupError("identity_link_vanished")
    return winner


async def _claim_email(db: AsyncSession, user: User, email: str | None) -> None:
    """Give ``user`` the email the provider verified just now; none when it verified none or another user has it."""
    if user.email == email:
        return
    user_id = user.id  # read now: a rollback expires what the session holds
    try:
        await db.execute(update(User).where(User.id == user_id).values(email=email))
        await db.commit()
    except exc.IntegrityError:
        await db.rollback()  # another user's email: the provider no longer vouches for ours either
        await db.execute(update(User).where(User.id == user_id).values(email=None))
        await db.commit()


async def user_for(db: AsyncSession, identity: Identity, *, new_user_scopes: str) -> User:
    """The user that ``identity`` logs in as, with the profile the provider just sent."""
    user_id = await _linked_user_id(db, identity) or await _create_user(db, identity, new_user_scopes)
    await db.execute(
        update(ExternalIdentity)
        .where(ExternalIdentity.issuer == identity.issuer, ExternalIdentity.subject == identity.subject)
        .values(email=identity.email, name=identity.name, last_login_at=utc_now())
    )
    await db.commit()
    user = await db.get(User, user_id, populate_existing=True)
    if user is None:
        raise LookupError("user_vanished")
    await _claim_email(db, user, identity.email)
    await db.refresh(user)
    return user
