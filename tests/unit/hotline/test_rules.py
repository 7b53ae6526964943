"""Pure hotline rules: states, deadlines, escalation, routing (no database, no clock)."""

from datetime import UTC, datetime, timedelta

import pytest

from tongxin.hotline.rules import (
    Action,
    CaseState,
    Category,
    HotlineRuleError,
    LinkedWorkStatus,
    RouteRule,
    Routing,
    Urgency,
    due_at,
    is_overdue,
    median_hours,
    needs_escalation,
    next_state,
    next_work_status,
    normalise_phone,
    route,
)

T0 = datetime(2022, 9, 20, 2, 0, tzinfo=UTC)
HOURS = {Urgency.CRITICAL: 2, Urgency.URGENT: 12, Urgency.NORMAL: 72}


def test_a_case_walks_new_assigned_in_progress_resolved_closed():
    state = CaseState.NEW
    state = next_state(state, Action.ASSIGN)
    state = next_state(state, Action.START)
    state = next_state(state, Action.RESOLVE)
    state = next_state(state, Action.CLOSE, callback_confirmed=True)
    assert state is CaseState.CLOSED


def test_a_case_closes_only_after_a_confirmed_call_back():
    with pytest.raises(HotlineRuleError) as refused:
        next_state(CaseState.RESOLVED, Action.CLOSE, callback_confirmed=False)
    assert refused.value.code == "callback_required"


@pytest.mark.parametrize("state", [CaseState.NEW, CaseState.ASSIGNED, CaseState.IN_PROGRESS])
def test_an_unresolved_case_cannot_close(state):
    with pytest.raises(HotlineRuleError) as refused:
        next_state(state, Action.CLOSE, callback_confirmed=True)
    assert refused.value.code == "bad_state"


@pytest.mark.parametrize("state", [CaseState.RESOLVED, CaseState.CLOSED])
def test_resolved_and_closed_cases_reopen_to_their_desk(state):
    assert next_state(state, Action.REOPEN) is CaseState.ASSIGNED


def test_an_open_case_cannot_be_reopened():
    with pytest.raises(HotlineRuleError):
        next_state(CaseState.IN_PROGRESS, Action.REOPEN)


def test_deadlines_come_from_the_urgency_hours():
    assert due_at(T0, Urgency.CRITICAL, HOURS) == T0 + timedelta(hours=2)
    assert due_at(T0, Urgency.NORMAL, HOURS) == T0 + timedelta(hours=72)


def test_a_case_is_overdue_only_while_open_and_past_its_deadline():
    due = T0 + timedelta(hours=2)
    assert not is_overdue(CaseState.ASSIGNED, due, due)
    assert is_overdue(CaseState.ASSIGNED, due, due + timedelta(seconds=1))
    assert not is_overdue(CaseState.RESOLVED, due, due + timedelta(hours=5))


def test_an_overdue_case_escalates_once_per_deadline():
    due = T0 + timedelta(hours=2)
    late = due + timedelta(minutes=1)
    assert needs_escalation(CaseState.ASSIGNED, due, None, late)
    assert not needs_escalation(CaseState.ASSIGNED, due, late, late + timedelta(hours=1))
    # Reopened with a new deadline: late again means escalated again.
    new_due = late + timedelta(hours=12)
    assert needs_escalation(CaseState.ASSIGNED, new_due, late, new_due + timedelta(minutes=1))


def test_routing_prefers_the_nearest_area_then_the_category_rule():
    rules = [
        RouteRule(area_id=1, category=None, desk="街道民政办", responsible_area_id=1),
        RouteRule(area_id=2, category=None, desk="社区服务站", responsible_area_id=2),
        RouteRule(area_id=2, category=Category.PSYCH, desk="心理援助站", responsible_area_id=9),
    ]
    ancestors = [5, 2, 1]  # building 5 in community 2 in street 1
    assert route(Category.PSYCH, ancestors, rules, fallback_area_id=2) == Routing(9, "心理援助站")
    assert route(Category.MEDICAL, ancestors, rules, fallback_area_id=2) == Routing(2, "社区服务站")
    assert route(Category.MEDICAL, [7, 3, 1], rules, fallback_area_id=3) == Routing(1, "街道民政办")


def test_without_a_rule_the_case_goes_to_the_fallback_area():
    assert route(Category.DAILY, [5, 2], [], fallback_area_id=2) == Routing(2, None)


def test_linked_work_moves_forward_only():
    assert next_work_status(LinkedWorkStatus.REQUESTED, LinkedWorkStatus.ACCEPTED)
    with pytest.raises(HotlineRuleError):
        next_work_status(LinkedWorkStatus.DONE, LinkedWorkStatus.REQUESTED)


def test_median_hours():
    assert median_hours([]) is None
    assert median_hours([timedelta(hours=1), timedelta(hours=3)]) == 2.0
    assert median_hours([timedelta(hours=1), timedelta(hours=5), timedelta(hours=2)]) == 2.0


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("138 0000 0001", "13800000001"),
        ("+86 13800000001", "13800000001"),
        ("0851-86000001", "085186000001"),
    ],
)
def test_phones_are_compared_by_their_digits(raw, digits):
    assert normalise_phone(raw) == digits
