"""Sign-in throttling on a real database: the counts every server worker shares."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tongxin.accounts.models import SignInAttempt
from tongxin.accounts.rules import Role, ThrottlePolicy
from tongxin.accounts.service import create_user
from tongxin.accounts.sign_in import SignInPolicies, sign_in

PASSWORD = "tongxin-test-1"
NOW = datetime(2022, 9, 23, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
POLICIES = SignInPolicies(
    per_name=ThrottlePolicy(3, WINDOW, WINDOW), per_ip=ThrottlePolicy(10, WINDOW, WINDOW)
)


@pytest.fixture
def wang(session):
    return create_user(session, username="wang", password=PASSWORD, role=Role.COMMUNITY_WORKER)


def attempt(session, username, password, *, at=NOW, ip="10.0.0.1"):
    return sign_in(session, username=username, password=password, ip=ip, now=at, policies=POLICIES)


def fail(session, username, times, *, at=NOW, ip="10.0.0.1"):
    for i in range(times):
        assert (
            attempt(session, username, "wrong-pass-1", at=at + timedelta(seconds=i), ip=ip).user
            is None
        )


def test_the_right_password_signs_in_and_is_recorded(session, wang):
    outcome = attempt(session, "wang", PASSWORD)

    assert outcome.user is wang
    assert outcome.locked_until is None
    assert session.scalar(select(SignInAttempt.succeeded)) is True


def test_too_many_failures_lock_the_name_even_for_the_right_password(session, wang):
    fail(session, "wang", 3)

    outcome = attempt(session, "wang", PASSWORD, at=NOW + timedelta(minutes=1))

    assert outcome.user is None
    assert outcome.locked_until == NOW + timedelta(seconds=2) + WINDOW


def test_the_lock_ends_after_the_lockout_time(session, wang):
    fail(session, "wang", 3)

    assert attempt(session, "wang", PASSWORD, at=NOW + timedelta(minutes=16)).user is wang


def test_an_unknown_name_is_locked_exactly_like_a_known_one(session, wang):
    fail(session, "wang", 3)
    fail(session, "nobody", 3)

    known = attempt(session, "wang", "wrong-pass-1", at=NOW + timedelta(minutes=1))
    unknown = attempt(session, "nobody", "wrong-pass-1", at=NOW + timedelta(minutes=1))

    assert known.locked_until == unknown.locked_until


def test_case_and_spaces_do_not_dodge_the_lock(session, wang):
    fail(session, "Wang", 2)
    fail(session, " wang ", 1, at=NOW + timedelta(seconds=5))

    assert attempt(session, "wang", PASSWORD, at=NOW + timedelta(minutes=1)).locked_until


def test_a_success_starts_the_count_again(session, wang):
    fail(session, "wang", 2)
    assert attempt(session, "wang", PASSWORD, at=NOW + timedelta(seconds=10)).user is wang
    fail(session, "wang", 2, at=NOW + timedelta(seconds=20))

    assert attempt(session, "wang", PASSWORD, at=NOW + timedelta(seconds=30)).user is wang


def test_attempts_refused_while_locked_are_not_recorded_so_the_lock_cannot_be_stretched(
    session, wang
):
    fail(session, "wang", 3)
    before = session.scalar(select(func.count(SignInAttempt.id)))

    for minute in range(1, 15):
        attempt(session, "wang", "wrong-pass-1", at=NOW + timedelta(minutes=minute))

    assert session.scalar(select(func.count(SignInAttempt.id))) == before
    assert attempt(session, "wang", PASSWORD, at=NOW + timedelta(minutes=16)).user is wang


def test_one_address_guessing_many_names_is_locked(session, wang):
    for name in ("a1", "a2", "a3", "a4", "a5"):
        fail(session, name, 2, ip="203.0.113.9")

    from_there = attempt(session, "wang", PASSWORD, ip="203.0.113.9", at=NOW + timedelta(minutes=1))
    from_elsewhere = attempt(
        session, "wang", PASSWORD, ip="10.0.0.2", at=NOW + timedelta(minutes=1)
    )

    assert from_there.locked_until is not None
    assert from_elsewhere.user is wang
