"""Pure ledger decisions: tube room, closing, boxes, handovers, recall steps, messages."""

from __future__ import annotations

import pytest

from tongxin.screening import checks
from tongxin.screening.checks import MESSAGES, reject


def room(state: str, count: int, capacity: int = 10, reason: str | None = None):
    return checks.swab_into_tube(
        barcode="T1", state=state, close_reason=reason, member_count=count, capacity=capacity
    )


def test_a_tube_takes_swabs_until_its_capacity():
    assert room("issued", 0) is None
    assert room("open", 9) is None


def test_the_eleventh_swab_of_a_ten_tube_is_tube_full():
    assert room("closed", 10).code == "tube_full"
    assert room("open", 10).code == "tube_full"


def test_a_tube_closed_short_or_further_on_is_tube_closed():
    assert room("closed", 3, reason="收工").code == "tube_closed"
    assert room("boxed", 10).code == "tube_closed"


def test_a_household_tube_has_no_count_limit():
    assert room("open", 30, capacity=0) is None
    assert not checks.tube_is_full(member_count=30, capacity=0)


def test_a_key_group_person_does_not_fit_a_ten_tube():
    misfit = checks.pooling_fits(expected=1, tube_capacity=10, barcode="T1")
    assert misfit is not None and misfit.code == "tube_capacity_mismatch"
    assert "1:1" in misfit.message_en and "10:1" in misfit.message_en
    assert checks.pooling_fits(expected=10, tube_capacity=10, barcode="T1") is None


@pytest.mark.parametrize(
    ("state", "count", "reason", "expected"),
    [
        ("open", 4, "收工", (True, None)),
        ("open", 4, None, (False, "tube_short_no_reason")),
        ("issued", 0, "x", (False, "tube_empty")),
        ("closed", 10, None, (False, None)),
        ("closed", 4, "收工", (False, "tube_closed")),
    ],
)
def test_closing_a_tube(state, count, reason, expected):
    decision = checks.close_tube(
        barcode="T1", state=state, close_reason=None if state != "closed" or count == 10 else "x",
        member_count=count, capacity=10, reason=reason,
    )  # fmt: skip
    code = decision.rejection.code if decision.rejection else None
    assert (decision.close, code) == expected


def test_a_box_count_must_equal_its_distinct_tubes():
    assert checks.box_counts(box="B1", count=2, tubes=["T1", "T2"]) is None
    assert checks.box_counts(box="B1", count=3, tubes=["T1", "T2"]).code == "box_count_mismatch"
    assert checks.box_counts(box="B1", count=2, tubes=["T1", "T1"]).code == "box_count_mismatch"


def test_a_handover_needs_both_confirmations():
    assert checks.handover_confirmed(["from", "to"]) is None
    one = checks.handover_confirmed(["from"])
    assert one is not None and one.code == "handover_unconfirmed"


def test_recall_steps_follow_each_other_in_order():
    assert checks.recall_step(event_type="recall_notified", state="open", reason="positive") == (
        "notified",
        None,
    )
    _target, wrong = checks.recall_step(
        event_type="recall_resampled", state="notified", reason="positive"
    )
    assert wrong is not None and wrong.code == "recall_out_of_order"
    assert checks.recall_step(
        event_type="recall_resampled", state="notified", reason="invalid"
    ) == ("resampled", None)
    _target, wrong = checks.recall_step(event_type="recall_closed", state="open", reason="invalid")
    assert wrong is not None


def test_every_code_has_both_messages_and_they_fill_in():
    for code, (zh, en) in MESSAGES.items():
        assert zh and en, code
    filled = reject("tube_full", tube="T123", capacity=10)
    assert "T123" in filled.message_zh and "T123" in filled.message_en
