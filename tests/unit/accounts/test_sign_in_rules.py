from datetime import UTC, datetime, timedelta

from tongxin.accounts.rules import (
    ThrottlePolicy,
    locked_until,
    may_change_activity,
    session_current,
)

NOW = datetime(2022, 9, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_fewer_failures_than_the_limit_do_not_lock():
    assert locked_until([ago(4), ago(3), ago(2), ago(1)], NOW, POLICY) is None


def test_the_limit_reached_within_the_window_locks_from_the_last_failure():
    failures = [ago(5), ago(4), ago(3), ago(2), ago(1)]

    assert locked_until(failures, NOW, POLICY) == ago(1) + timedelta(minutes=15)


def test_failures_spread_wider_than_the_window_do_not_lock():
    failures = [ago(40), ago(30), ago(20), ago(10), ago(1)]

    assert locked_until(failures, NOW, POLICY) is None


def test_a_lock_ends_when_its_time_is_up():
    failures = [ago(20), ago(19), ago(18), ago(17), ago(16)]

    assert locked_until(failures, NOW, POLICY) is None
    assert locked_until(failures, ago(2), POLICY) == ago(1)


def test_the_order_of_the_failures_does_not_matter():
    failures = [ago(1), ago(3), ago(5), ago(2), ago(4)]

    assert locked_until(failures, NOW, POLICY) == ago(1) + timedelta(minutes=15)


def test_a_limit_of_zero_turns_the_lock_off():
    off = ThrottlePolicy(0, POLICY.window, POLICY.lockout)

    assert locked_until([ago(1)] * 50, NOW, off) is None


def test_an_administrator_may_not_disable_themselves_but_may_disable_others():
    assert may_change_activity(1, 1, enable=False) is not None
    assert may_change_activity(1, 2, enable=False) is None
    assert may_change_activity(1, 1, enable=True) is None


def test_a_session_from_before_a_reset_no_longer_counts():
    reset = NOW

    assert session_current(None, None)
    assert session_current((NOW - timedelta(hours=1)).timestamp(), None)
    assert not session_current((NOW - timedelta(seconds=1)).timestamp(), reset)
    assert session_current((NOW + timedelta(seconds=1)).timestamp(), reset)
    assert not session_current(None, reset)
    assert not session_current("yesterday", reset)
