"""The ledger: every field event stored once, decided in order, projections in step."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.events import Device
from tests.factories.screening import ROUND_START, RoundSetup, build_round
from tongxin.registry.rules import resident_code
from tongxin.screening.ledger import (
    LedgerError,
    Unparsed,
    ingest_events,
    list_rejected,
    resolve_event,
    resubmit_event,
)
from tongxin.screening.models import Box, Event, Handover, HandoverBox, Recall, Swab, Tube
from tongxin.screening.rules import Zone
from tongxin.screening.setup import create_round

NOW = ROUND_START + timedelta(hours=1)
CODES = [resident_code(10_000 + i) for i in range(30)]


@pytest.fixture
def rs(session: Session) -> RoundSetup:
    return build_round(session)


def send(session: Session, events: list) -> list[tuple[str, str | None]]:
    answers = ingest_events(session, events=events, received_at=NOW)
    return [(a.status, a.code) for a in answers]


def tube(session: Session, barcode: str) -> Tube:
    found = session.scalar(select(Tube).where(Tube.barcode == barcode))
    assert found is not None
    session.refresh(found)
    return found


def fill(pad: Device, rs: RoundSetup, barcode: str, people: range) -> list[dict]:
    return [pad.swab(rs.stations[0].code, barcode, CODES[i]) for i in people]


def test_ten_swabs_fill_a_ten_tube_in_order_and_close_it(session, rs):
    pad = Device()
    assert send(session, fill(pad, rs, rs.tubes10[0], range(10))) == [("accepted", None)] * 10
    t = tube(session, rs.tubes10[0])
    assert (t.state, t.member_count, t.close_reason) == ("closed", 10, None)
    positions = session.scalars(
        select(Swab.position).where(Swab.tube_id == t.id).order_by(Swab.position)
    ).all()
    assert positions == list(range(1, 11))


def test_eleventh_swab_in_a_ten_tube_is_rejected_and_kept(session, rs):
    pad = Device()
    events = fill(pad, rs, rs.tubes10[0], range(11))
    answers = send(session, events)
    assert answers[-1] == ("rejected", "tube_full")
    stored = session.scalar(select(Event).where(Event.id == events[-1]["id"]))
    assert stored is not None
    assert (stored.status, stored.code) == ("rejected", "tube_full")
    assert "已满" in (stored.message_zh or "") and "full" in (stored.message_en or "")
    assert tube(session, rs.tubes10[0]).member_count == 10


def test_a_replayed_batch_is_acknowledged_as_duplicate_and_changes_nothing(session, rs):
    pad = Device()
    events = fill(pad, rs, rs.tubes10[0], range(3))
    send(session, events)
    assert send(session, events) == [("duplicate", None)] * 3
    assert session.scalar(select(func.count()).select_from(Event)) == 3
    assert tube(session, rs.tubes10[0]).member_count == 3


def test_an_id_repeated_inside_one_batch_counts_once(session, rs):
    pad = Device()
    one = fill(pad, rs, rs.tubes10[0], range(1))[0]
    assert send(session, [one, dict(one)]) == [("accepted", None), ("duplicate", None)]
    assert tube(session, rs.tubes10[0]).member_count == 1


def test_unknown_barcode_is_rejected_as_tube_unknown(session, rs):
    pad = Device()
    assert send(session, [pad.swab(rs.stations[0].code, "T00000999995", CODES[0])]) == [
        ("rejected", "tube_unknown")
    ]


def test_unknown_round_and_station_are_rejected(session, rs):
    pad = Device()
    stranger = Device(round_code="R9")
    answers = send(
        session,
        [
            stranger.swab(rs.stations[0].code, rs.tubes10[0], CODES[0]),
            pad.swab("R1-S9-1", rs.tubes10[0], CODES[0]),
        ],
    )
    assert answers == [("rejected", "round_unknown"), ("rejected", "station_unknown")]


def test_unknown_resident_code_without_id_details_is_person_unknown(session, rs):
    pad = Device()
    assert send(session, [pad.swab(rs.stations[0].code, rs.tubes10[0], "000000000")]) == [
        ("rejected", "person_unknown")
    ]


def test_a_walk_in_with_id_details_is_accepted_without_a_resident(session, rs):
    pad = Device()
    walk_in = pad.swab(
        rs.stations[0].code, rs.tubes10[0], id_number="X1234567", name="访客", phone="13900000000"
    )
    assert send(session, [walk_in]) == [("accepted", None)]
    swab = session.scalars(select(Swab)).one()
    assert (swab.resident_id, swab.id_number, swab.name) == (None, "X1234567", "访客")


def test_a_person_swabbed_twice_in_a_round_is_accepted_and_flagged(session, rs):
    pad = Device()
    events = [
        pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[0]),
        pad.swab(rs.stations[1].code, rs.tubes10[1], CODES[0]),
    ]
    answers = ingest_events(session, events=events, received_at=NOW)
    assert [(a.status, a.flag) for a in answers] == [
        ("accepted", None),
        ("accepted", "duplicate_person"),
    ]
    flags = session.scalars(select(Swab.duplicate_person).order_by(Swab.id)).all()
    assert flags == [False, True]
    assert session.scalar(select(Event.flag).where(Event.id == events[1]["id"])) == (
        "duplicate_person"
    )


def test_a_ten_to_one_person_in_a_single_tube_is_a_capacity_mismatch(session, rs):
    pad = Device()
    assert send(session, [pad.swab(rs.stations[0].code, rs.tubes1[0], CODES[0])]) == [
        ("rejected", "tube_capacity_mismatch")
    ]


def test_a_swab_into_a_tube_closed_short_is_tube_closed(session, rs):
    pad = Device()
    events = [*fill(pad, rs, rs.tubes10[0], range(2)), pad.close(rs.tubes10[0], "收工")]
    events += fill(pad, rs, rs.tubes10[0], range(2, 3))
    assert send(session, events)[-2:] == [("accepted", None), ("rejected", "tube_closed")]


def test_a_tube_from_another_round_is_rejected(session, rs):
    other = Device(round_code="R2")
    create_round(
        session,
        code="R2",
        name="第二轮",
        district=rs.tree.district,
        targets=[(rs.tree.community, Zone.CONTROLLED)],
        starts_at=ROUND_START,
    )
    assert send(session, [other.close(rs.tubes10[0], "x")]) == [("rejected", "tube_other_round")]


def test_custody_chain_from_swab_to_recall(session, rs):
    pad, lab = Device(), Device("lab-1")
    barcode = rs.tubes10[0]
    events = fill(pad, rs, barcode, range(10))
    events += [
        pad.seal("B1", [barcode]),
        pad.handover(["B1"]),
        lab.receive("B1"),
        lab.result(barcode, "positive", ct=28.5),
        pad.recall("notified", barcode, 3),
        pad.recall("isolated", barcode, 3),
    ]
    assert {s for s, _c in send(session, events)} == {"accepted"}
    t = tube(session, barcode)
    assert (t.state, t.result, t.ct, t.condition) == ("resulted", "positive", 28.5, "good")
    box = session.scalars(select(Box)).one()
    assert (box.state, box.lab_id, t.box_id) == ("received", rs.lab.id, box.id)
    assert session.scalar(select(Handover.box_count)) == 1
    assert session.scalar(select(func.count()).select_from(HandoverBox)) == 1
    recalls = session.scalars(select(Recall).order_by(Recall.id)).all()
    assert len(recalls) == 10
    assert {r.reason for r in recalls} == {"positive"}
    assert recalls[0].due_at - recalls[0].opened_at == timedelta(hours=24)
    assert sorted(r.state for r in recalls).count("isolated") == 1


def test_malformed_events_are_stored_rejected_naming_the_field(session, rs):
    pad = Device()
    bad = pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[0])
    del bad["tube"]
    answers = ingest_events(
        session,
        events=[bad, {"what": 1}, Unparsed("{nope", "line 3")],
        received_at=NOW,
    )
    assert [(a.id, a.status, a.code) for a in answers] == [
        (bad["id"], "rejected", "malformed"),
        (None, "rejected", "malformed"),
        (None, "rejected", "malformed"),
    ]
    assert "tube" in (answers[0].message_en or "")
    assert "line 3" in (answers[2].message_en or "")
    stored = session.scalars(select(Event).order_by(Event.number)).all()
    assert [e.status for e in stored] == ["rejected"] * 3
    assert stored[0].round_id == rs.round.id
    assert stored[1].id.startswith("srv-")


def test_rejected_events_are_listed_until_resolved_and_then_kept(session, rs):
    pad = Device()
    events = fill(pad, rs, rs.tubes10[0], range(11))
    send(session, events)
    [open_one] = list_rejected(session, round_id=rs.round.id)
    assert open_one.id == events[-1]["id"]
    resolve_event(session, event_id=open_one.id, by="王社工", resolution="已重采", now=NOW)
    assert list_rejected(session, round_id=rs.round.id) == []
    assert len(list_rejected(session, round_id=rs.round.id, unresolved_only=False)) == 1


def test_stored_times_compare_in_sql_like_any_other_timestamp(session, rs):
    pad = Device()
    event = fill(pad, rs, rs.tubes10[0], range(1))[0]
    send(session, [event])
    at = datetime.fromisoformat(event["at"])
    assert session.scalar(select(Event.id).where(Event.at == at)) == event["id"]
    assert session.scalar(select(Swab.event_id).where(Swab.taken_at >= at)) == event["id"]
    assert session.scalar(select(Event.received_at)) == NOW


def test_a_rejected_receipt_resubmitted_after_the_handover_is_accepted_once(session, rs):
    pad, lab = Device(), Device("lab-1")
    swabs = fill(pad, rs, rs.tubes10[0], range(10))
    assert {s for s, _c in send(session, [*swabs, pad.seal("B1", [rs.tubes10[0]])])} == {"accepted"}
    early = lab.receive("B1")
    [(status, code)] = send(session, [early])
    assert status == "rejected"
    send(session, [pad.handover(["B1"])])
    answer = resubmit_event(session, event_id=early["id"], by="王主任", now=NOW)
    assert (answer.status, answer.code) == ("accepted", None)
    assert tube(session, rs.tubes10[0]).state == "received"
    assert list_rejected(session, round_id=rs.round.id) == []
    original = session.get(
        Event, session.scalar(select(Event.number).where(Event.id == early["id"]))
    )
    assert original is not None and (original.status, original.code) == ("rejected", code)
    assert answer.id in (original.resolution or "")
    with pytest.raises(LedgerError) as again:
        resubmit_event(session, event_id=early["id"], by="王主任", now=NOW)
    assert again.value.code == "event_resolved"


def test_an_unparsable_rejected_event_cannot_be_resubmitted(session, rs):
    assert send(session, [Unparsed("{not json", "dump.ndjson line 3")]) == [
        ("rejected", "malformed")
    ]
    [stored] = list_rejected(session, round_id=None)
    with pytest.raises(LedgerError) as problem:
        resubmit_event(session, event_id=stored.id, by="王主任", now=NOW)
    assert problem.value.code == "event_not_resubmittable"


def test_no_collector_pass_runs_while_a_batch_is_decided_and_stored(session, rs, monkeypatch):
    import tongxin.screening.ledger as ledger

    inside = [False]
    passes_inside: list[int] = []
    decide_and_store = ledger._decide_and_store

    def watched(*args, **kwargs):
        inside[0] = True
        try:
            return decide_and_store(*args, **kwargs)
        finally:
            inside[0] = False

    def on_pass(phase: str, info: dict) -> None:
        if phase == "start" and inside[0]:
            passes_inside.append(info["generation"])

    monkeypatch.setattr(ledger, "_decide_and_store", watched)
    threshold = gc.get_threshold()
    gc.callbacks.append(on_pass)
    gc.set_threshold(1, 1, 1)  # a pass on nearly every allocation, were the collector on
    try:
        answers = send(session, fill(Device(), rs, rs.tubes10[0], range(10)))
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(on_pass)
    assert answers == [("accepted", None)] * 10
    assert passes_inside == []
    assert gc.isenabled()
