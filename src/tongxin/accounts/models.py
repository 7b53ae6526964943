"""Account tables: users with a role and a jurisdiction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime


class User(Base):
    """A person who signs in; sees only their jurisdiction (a node of the area tree)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    # Places other than an area node that narrow what a user sees: one nullable column per
    # kind of place (a lab now; warehouse_id and hotline_id arrive with their areas), each
    # read in one branch of accounts.access.scope_of. See docs/security.md, "Jurisdiction".
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sessions signed in before this moment no longer count: set when an administrator
    # disables the user or resets the password, so a stolen session dies with the old one.
    sessions_valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignInAttempt(Base):
    """One checked sign-in: the shared memory that throttles guessing across server workers.

    The user name is stored as typed (lower-cased) whether or not such a user exists, so
    unknown names are throttled exactly like known ones.
    """

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    succeeded: Mapped[bool] = mapped_column(Boolean)
