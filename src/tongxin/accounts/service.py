"""Account use cases: create users, check passwords, disable, enable and reset users."""

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


class PasswordRejected(AccountError):
    """A proposed password breaks the policy; `problems` are UI msgids, one per rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("password_policy", "密码不符合要求：" + "；".join(problems))
        self.problems = problems


def check_password_policy(password: str, username: str) -> None:
    """Raise PasswordRejected listing every problem of a proposed password."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(problems)


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
    check_password_policy(password, username)
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


def user_by_name(session: Session, username: str) -> User:
    """Return the user with this sign-in name (active or not), or raise AccountError."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError("unknown_user", f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    """Return every user, active or not, by sign-in name."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_user_active(session: Session, *, username: str, active: bool, now: datetime) -> User:
    """Disable or enable a user; disabling also ends every session they have open."""
    user = user_by_name(session, username)
    user.is_active = active
    if not active:
        user.sessions_valid_from = now
    session.flush()
    return user


def reset_password(session: Session, *, username: str, password: str, now: datetime) -> User:
    """Give a user a new password under the policy and end the sessions signed in before."""
    user = user_by_name(session, username)
    check_password_policy(password, username)
    user.password_hash = _hasher.hash(password)
    user.sessions_valid_from = now
    session.flush()
    return user
