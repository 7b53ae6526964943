"""Reconciliation on staged projection rows: exact counts and every broken invariant named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.screening import build_round
from tests.integration.screening.custody import (
    T0,
    close,
    complete_round,
    hand_over,
    receive,
    rejected_event,
    residents,
    result,
    seal,
    swab,
    tube,
)
from tongxin.screening.reconcile import reconcile

BEFORE_DUE = T0 + timedelta(hours=8)


def _codes(rec):
    return [m.code for m in rec.mismatches]


def test_a_whole_chain_counts_exactly_and_breaks_nothing(session):
    r = build_round(session)
    complete_round(session, r)

    rec = reconcile(session, round_id=r.round.id, now=BEFORE_DUE)

    assert rec.counts() == {
        "people_sampled": 30,
        "tube_members": 30,
        "tubes_closed": 3,
        "tubes_in_sealed_boxes": 3,
        "boxes_sealed": 1,
        "boxes_handed_over": 1,
        "boxes_received": 1,
        "tubes_received": 3,
        "tubes_resulted": 3,
        "positive_tubes": 1,
        "recalls_open": 10,
        "rejected_events": 0,
    }
    assert rec.mismatches == []
    assert rec.time_flags == []


def test_recalls_past_their_due_time_are_named_with_their_people(session):
    r = build_round(session)
    people = complete_round(session, r)

    rec = reconcile(session, round_id=r.round.id, now=T0 + timedelta(hours=31))

    assert _codes(rec) == ["recall_overdue"]
    overdue = rec.mismatches[0]
    assert overdue.tubes == [r.tubes10[1]]
    assert [p["resident_code"] for p in overdue.people] == [p.resident_code for p in people[10:20]]
    assert overdue.people[0]["name"] == "居***"  # 居民10
    assert overdue.place == {"site": "S1", "station": "R1-S1-1", "lab": None}


def test_a_person_swabbed_twice_is_the_difference_between_people_and_members(session):
    r = build_round(session)
    people = complete_round(session, r)
    swab(session, r, r.tubes1[0], [people[4]], at=T0 + timedelta(hours=3), station=1)

    rec = reconcile(session, round_id=r.round.id, now=BEFORE_DUE)

    assert (rec.people_sampled, rec.tube_members) == (30, 31)
    assert _codes(rec) == ["duplicate_person"]
    dup = rec.mismatches[0]
    assert dup.tubes == [r.tubes10[0], r.tubes1[0]]
    assert dup.people == [
        {"resident_code": people[4].resident_code, "name": "居**", "id_number": None}
    ]
    assert dup.detail["stations"] == ["R1-S1-1", "R1-S1-2"]


def test_a_closed_tube_never_boxed_is_named_at_its_station(session):
    r = build_round(session)
    people = residents(session)
    swab(session, r, r.tubes10[0], people[:10])
    close(session, r.tubes10[0])
    box = seal(session, r, "B1", [r.tubes10[0]])
    hand_over(session, r, box)
    receive(session, r, box)
    result(session, r, r.tubes10[0], "negative")
    swab(session, r, r.tubes10[3], people[10:12], station=1)
    close(session, r.tubes10[3])

    rec = reconcile(session, round_id=r.round.id, now=T0)

    assert (rec.tubes_closed, rec.tubes_in_sealed_boxes) == (2, 1)
    assert _codes(rec) == ["tube_not_boxed"]
    entry = rec.mismatches[0]
    assert entry.tubes == [r.tubes10[3]]
    assert entry.place == {"site": "S1", "station": "R1-S1-2", "lab": None}
    assert [p["resident_code"] for p in entry.people] == [p.resident_code for p in people[10:12]]


def test_boxes_stuck_before_handover_or_receipt_are_named_by_stage(session):
    r = build_round(session)
    people = residents(session)
    for i in range(3):
        swab(session, r, r.tubes10[i], people[10 * i : 10 * i + 10])
        close(session, r.tubes10[i])
    b1 = seal(session, r, "B1", [r.tubes10[0]])
    b2 = seal(session, r, "B2", [r.tubes10[1]])
    seal(session, r, "B3", [r.tubes10[2]])
    hand_over(session, r, b1)
    hand_over(session, r, b2)
    receive(session, r, b1)
    result(session, r, r.tubes10[0], "negative")

    rec = reconcile(session, round_id=r.round.id, now=T0)

    assert (rec.boxes_sealed, rec.boxes_handed_over, rec.boxes_received) == (3, 2, 1)
    stuck = {m.code: m for m in rec.mismatches}
    assert set(stuck) == {"box_not_received", "box_not_handed_over"}
    assert stuck["box_not_received"].boxes == ["B2"]
    assert stuck["box_not_received"].tubes == [r.tubes10[1]]
    assert stuck["box_not_received"].detail == {"carrier": "courier-7"}
    assert len(stuck["box_not_received"].people) == 10
    assert stuck["box_not_handed_over"].boxes == ["B3"]


def test_received_tubes_missing_or_without_result_are_named_at_the_lab(session):
    r = build_round(session)
    people = residents(session)
    for i in range(3):
        swab(session, r, r.tubes10[i], people[10 * i : 10 * i + 10])
        close(session, r.tubes10[i])
    box = seal(session, r, "B1", r.tubes10[:3])
    hand_over(session, r, box)
    receive(session, r, box, conditions={r.tubes10[2]: "missing"})
    result(session, r, r.tubes10[0], "negative")

    rec = reconcile(session, round_id=r.round.id, now=T0)

    assert (rec.tubes_received, rec.tubes_resulted) == (2, 1)
    found = {m.code: m for m in rec.mismatches}
    assert set(found) == {"tube_missing", "tube_not_resulted"}
    assert found["tube_missing"].tubes == [r.tubes10[2]]
    assert found["tube_missing"].boxes == ["B1"]
    assert found["tube_missing"].place["lab"] == "LAB1"
    assert found["tube_not_resulted"].tubes == [r.tubes10[1]]
    assert found["tube_not_resulted"].place == {"site": None, "station": None, "lab": "LAB1"}


def test_positive_members_without_a_recall_are_named(session):
    r = build_round(session)
    people = residents(session)
    swab(session, r, r.tubes10[0], people[:10])
    close(session, r.tubes10[0])
    box = seal(session, r, "B1", [r.tubes10[0]])
    hand_over(session, r, box)
    receive(session, r, box)
    result(session, r, r.tubes10[0], "positive", recalls=False)

    rec = reconcile(session, round_id=r.round.id, now=T0)

    assert _codes(rec) == ["recall_missing"]
    assert len(rec.mismatches[0].people) == 10


def test_unresolved_rejected_events_are_counted_and_listed_with_their_code(session):
    r = build_round(session)
    complete_round(session, r)
    rejected_event(
        session,
        r,
        code="tube_full",
        payload={
            "type": "swab_taken",
            "tube": r.tubes10[0],
            "station": "R1-S1-1",
            "person": {"id_number": "520113198005170011", "name": "张三"},
        },
    )
    rejected_event(
        session,
        r,
        code="unknown_tube",
        payload={"type": "result_reported", "tube": "T0000000000"},
        resolved=True,
    )

    rec = reconcile(session, round_id=r.round.id, now=BEFORE_DUE)

    assert rec.rejected_events == 1
    assert _codes(rec) == ["rejected_event"]
    entry = rec.mismatches[0]
    assert entry.detail["event_code"] == "tube_full"
    assert entry.tubes == [r.tubes10[0]]
    assert entry.place["station"] == "R1-S1-1"
    assert entry.people == [
        {"resident_code": None, "name": "张*", "id_number": "5201**********0011"}
    ]
    assert "tube_full" in entry.message_zh and "tube_full" in entry.message_en


def test_tube_member_counts_that_disagree_with_swabs_are_named(session):
    r = build_round(session)
    complete_round(session, r)
    tube(session, r.tubes10[0]).member_count = 9
    session.flush()

    rec = reconcile(session, round_id=r.round.id, now=BEFORE_DUE)

    assert rec.tube_members == 29
    assert _codes(rec) == ["members_differ"]
    assert rec.mismatches[0].detail["counts"] == {r.tubes10[0]: {"members": 9, "swabs": 10}}


def test_time_flags_name_slow_and_still_waiting_tubes(session):
    r = build_round(session)
    people = residents(session)
    for i in range(3):
        swab(session, r, r.tubes10[i], people[10 * i : 10 * i + 10], at=T0)
        close(session, r.tubes10[i])
    late = seal(session, r, "B1", [r.tubes10[0]])
    on_time = seal(session, r, "B2", [r.tubes10[1]])
    hand_over(session, r, late)
    hand_over(session, r, on_time)
    receive(session, r, late, at=T0 + timedelta(hours=5))
    receive(session, r, on_time, at=T0 + timedelta(hours=3))
    result(session, r, r.tubes10[0], "negative", at=T0 + timedelta(hours=18, minutes=30))
    # tubes10[1] received 3 h after swabbing, no result yet; tubes10[2] never left the site.

    rec = reconcile(session, round_id=r.round.id, now=T0 + timedelta(hours=16))

    flags = {(f.code, f.tube): f.hours for f in rec.time_flags}
    assert flags == {
        ("swab_to_receipt", r.tubes10[0]): 5.0,
        ("swab_to_receipt", r.tubes10[2]): None,
        ("receipt_to_result", r.tubes10[0]): 13.5,
        ("receipt_to_result", r.tubes10[1]): None,
    }
    assert {f.limit_hours for f in rec.time_flags} == {4, 12}


def test_time_limits_are_settings(session):
    r = build_round(session)
    complete_round(session, r)

    rec = reconcile(
        session,
        round_id=r.round.id,
        now=BEFORE_DUE,
        swab_to_receipt_hours=1,
        receipt_to_result_hours=3,
    )

    assert {f.code for f in rec.time_flags} == {"swab_to_receipt", "receipt_to_result"}
    assert len(rec.time_flags) == 6


def test_an_unknown_round_is_an_error(session):
    with pytest.raises(LookupError):
        reconcile(session, round_id=999, now=T0)
