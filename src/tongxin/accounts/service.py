"""Account use cases: create users and check sign-in."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Role, password_problems
from tongxin.registry.models import Area

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of both paths alike.
_DUMMY_HASH = _hasher.hash("tongxin-dummy-password-1")


class AccountError(ValueError):
    """An account request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    jurisdiction: Area | None = None,
    lab_id: int | None = None,
) -> User:
    """Create a user with an argon2 password hash."""
    problems = password_problems(password, username)
    if problems:
        raise AccountError("password_policy", "password: " + "; ".join(problems))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("username_taken", f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role.value,
        jurisdiction_id=jurisdiction.id if jurisdiction else None,
        lab_id=lab_id,
        is_active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """Return the active user whose password matches, or None."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = datetime.now(UTC)
    session.flush()
    return user


def user_by_id(session: Session, user_id: int) -> User | None:
    """Return the active user with this id, or None."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None
