"""Throttled sign-in: check a password only when neither the name nor the address is locked.

Attempts live in the database (`sign_in_attempts`), so every server worker sees the same
counts. The lock is keyed on the name as typed, whether or not such a user exists, and the
answer for a locked name never says whether it is a real account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import SignInAttempt, User
from tongxin.accounts.rules import ThrottlePolicy, locked_until
from tongxin.accounts.service import authenticate
from tongxin.settings import Settings

USERNAME_KEY_LENGTH = 64
IP_LENGTH = 45


@dataclass(frozen=True)
class SignInPolicies:
    """The lock for one user name and the (looser) lock for one client address."""

    per_name: ThrottlePolicy
    per_ip: ThrottlePolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInPolicies:
        """Build both policies from the TONGXIN_SIGN_IN_* settings."""
        window = timedelta(minutes=settings.sign_in_window_minutes)
        lockout = timedelta(minutes=settings.sign_in_lockout_minutes)
        return cls(
            per_name=ThrottlePolicy(settings.sign_in_max_failures, window, lockout),
            per_ip=ThrottlePolicy(settings.sign_in_max_failures_per_ip, window, lockout),
        )


@dataclass(frozen=True)
class SignInOutcome:
    """The signed-in user, or None; `locked_until` is set when the attempt was not checked."""

    user: User | None
    locked_until: datetime | None = None


def name_key(username: str) -> str:
    """Return the throttling key of a typed user name (case and spaces do not dodge it)."""
    return username.strip().lower()[:USERNAME_KEY_LENGTH]


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    now: datetime,
    policies: SignInPolicies,
) -> SignInOutcome:
    """Check a password unless the name or address is locked, and record the attempt."""
    key, ip = name_key(username), ip[:IP_LENGTH]
    until = _lock(session, key=key, ip=ip, now=now, policies=policies)
    if until is not None:
        # Not recorded: hammering a locked name must not stretch its lock for ever.
        return SignInOutcome(user=None, locked_until=until)
    user = authenticate(session, username=username.strip(), password=password)
    session.add(SignInAttempt(username=key, ip=ip, at=now, succeeded=user is not None))
    session.flush()
    return SignInOutcome(user=user)


def _lock(
    session: Session, *, key: str, ip: str, now: datetime, policies: SignInPolicies
) -> datetime | None:
    name_rows = session.execute(
        select(SignInAttempt.at, SignInAttempt.succeeded)
        .where(
            SignInAttempt.username == key,
            SignInAttempt.at >= now - policies.per_name.horizon(),
        )
        .order_by(SignInAttempt.at)
    ).all()
    # A success starts the count again for the name (not for the address: one person
    # signing in at a shared office must not wipe out someone else's guessing there).
    name_failures: list[datetime] = []
    for at, succeeded in name_rows:
        if succeeded:
            name_failures.clear()
        else:
            name_failures.append(at)
    ip_failures = session.scalars(
        select(SignInAttempt.at).where(
            SignInAttempt.ip == ip,
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.at >= now - policies.per_ip.horizon(),
        )
    ).all()
    locks = [
        until
        for until in (
            locked_until(name_failures, now, policies.per_name),
            locked_until(ip_failures, now, policies.per_ip),
        )
        if until is not None
    ]
    return max(locks) if locks else None
