"""Every custody rule of the ledger, one behaviour per test, each rejection stored and kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.factories.events import Device
from tests.factories.screening import ROUND_START, RoundSetup, build_round
from tongxin.registry.rules import resident_code
from tongxin.screening.ledger import ingest_events
from tongxin.screening.models import Box, Event, Recall, Tube
from tongxin.screening.rules import SealedPooling, Zone
from tongxin.screening.setup import DeviceScope, add_site, create_round, issue_tubes

NOW = ROUND_START + timedelta(hours=1)
CODES = [resident_code(10_000 + i) for i in range(30)]


@pytest.fixture
def rs(session: Session) -> RoundSetup:
    return build_round(session)


def send(session: Session, events: list, scope: DeviceScope | None = None) -> list:
    answers = ingest_events(session, events=events, received_at=NOW, scope=scope)
    return [a.code or a.status for a in answers]


def closed_tube(pad: Device, rs: RoundSetup, barcode: str, people: range) -> list[dict]:
    return [pad.swab(rs.stations[0].code, barcode, CODES[i]) for i in people]


def sealed_box(pad: Device, rs: RoundSetup, box: str = "B1", n: int = 0) -> list[dict]:
    return [
        *closed_tube(pad, rs, rs.tubes10[n], range(10 * n, 10 * n + 10)),
        pad.seal(box, [rs.tubes10[n]]),
    ]


def test_a_box_code_sealed_twice_is_box_sealed(session, rs):
    pad = Device()
    events = sealed_box(pad, rs) + closed_tube(pad, rs, rs.tubes10[1], range(10, 20))
    events.append(pad.seal("B1", [rs.tubes10[1]]))
    assert send(session, events)[-1] == "box_sealed"


def test_a_box_whose_count_differs_from_its_tubes_is_box_count_mismatch(session, rs):
    pad = Device()
    events = closed_tube(pad, rs, rs.tubes10[0], range(10))
    events.append(pad.seal("B1", [rs.tubes10[0]], count=2))
    assert send(session, events)[-1] == "box_count_mismatch"
    assert session.scalars(select(Box)).all() == []


def test_an_open_or_already_boxed_tube_cannot_be_sealed_in_a_box(session, rs):
    pad = Device()
    events = [*sealed_box(pad, rs), pad.swab(rs.stations[0].code, rs.tubes10[1], CODES[10])]
    events += [pad.seal("B2", [rs.tubes10[1]]), pad.seal("B3", [rs.tubes10[0]])]
    assert send(session, events)[-2:] == ["box_tube_not_closed", "box_tube_not_closed"]


def test_a_handover_with_one_confirmation_is_rejected(session, rs):
    pad = Device()
    events = [*sealed_box(pad, rs), pad.handover(["B1"], confirmations=("from",))]
    assert send(session, events)[-1] == "handover_unconfirmed"
    assert session.scalar(select(Box.state)) == "sealed"


def test_a_handover_of_a_box_never_sealed_is_box_unknown(session, rs):
    assert send(session, [Device().handover(["B9"])]) == ["box_unknown"]


def test_receipt_of_a_box_never_handed_over_is_rejected(session, rs):
    pad, lab = Device(), Device("lab-1")
    assert send(session, [*sealed_box(pad, rs), lab.receive("B1")])[-1] == "box_not_handed_over"


def test_a_box_received_twice_is_box_already_received(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1"), lab.receive("B1")]
    assert send(session, events)[-1] == "box_already_received"


def test_receipt_conditions_apply_per_tube_and_must_name_tubes_in_the_box(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"])]
    bad = lab.receive("B1", **{rs.tubes10[5]: "leaked"})
    good = lab.receive("B1", **{rs.tubes10[0]: "leaked"})
    assert send(session, [*events, bad, good])[-2:] == ["box_tube_unknown", "accepted"]
    assert session.scalar(select(Tube.condition).where(Tube.barcode == rs.tubes10[0])) == "leaked"


def test_receipt_at_an_unknown_lab_is_lab_unknown(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1", lab="LAB9")]
    assert send(session, events)[-1] == "lab_unknown"


def test_a_result_for_an_unknown_tube_is_result_tube_unknown(session, rs):
    assert send(session, [Device("lab-1").result("T00000099990", "negative")]) == [
        "result_tube_unknown"
    ]


def test_a_result_for_a_tube_never_received_is_rejected(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [*sealed_box(pad, rs), lab.result(rs.tubes10[0], "negative")]
    assert send(session, events)[-1] == "result_tube_not_received"


def test_a_second_result_for_a_tube_is_result_exists(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1")]
    events += [lab.result(rs.tubes10[0], "negative"), lab.result(rs.tubes10[0], "positive")]
    assert send(session, events)[-2:] == ["accepted", "result_exists"]
    assert session.scalars(select(Recall)).all() == []


# Where the batch with the results starts: with the whole custody chain (the box only in
# memory), with the receipt (the box loaded, received in this batch), or after it.
@pytest.mark.parametrize("results_from", [0, 2, 3])
def test_a_result_from_a_lab_that_did_not_receive_the_box_is_result_wrong_lab(
    session, rs, results_from
):
    from tongxin.screening.setup import add_lab

    add_lab(session, code="LAB2", name="第二检测机构", round=rs.round)
    pad, lab = Device(), Device("lab-1")
    custody = [
        [*sealed_box(pad, rs)],
        [pad.handover(["B1"])],
        [lab.receive("B1", lab="LAB1")],
    ]
    results = [
        lab.result(rs.tubes10[0], "positive", lab="LAB2"),
        lab.result(rs.tubes10[0], "negative", lab="LAB1"),
    ]
    earlier = [e for part in custody[:results_from] for e in part]
    if earlier:
        assert set(send(session, earlier)) == {"accepted"}
    answers = send(session, [e for part in custody[results_from:] for e in part] + results)[-2:]
    assert answers == ["result_wrong_lab", "accepted"]
    assert session.scalar(select(Tube.result).where(Tube.barcode == rs.tubes10[0])) == "negative"
    assert session.scalars(select(Recall)).all() == []


def test_an_invalid_tube_recalls_its_members_for_resampling(session, rs):
    pad, lab, cw = Device(), Device("lab-1"), Device("cw-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1")]
    events += [lab.result(rs.tubes10[0], "invalid"), cw.recall("notified", rs.tubes10[0], 2)]
    events.append(cw.recall("resampled", rs.tubes10[0], 2, retest_tube=rs.tubes1[0]))
    ingest_events(session, events=events, received_at=NOW, recall_due=timedelta(hours=6))
    recalls = session.scalars(select(Recall).order_by(Recall.id)).all()
    assert {r.reason for r in recalls} == {"invalid"} and len(recalls) == 10
    assert recalls[0].due_at - recalls[0].opened_at == timedelta(hours=6)
    moved = [r for r in recalls if r.state != "open"]
    assert [(r.state, r.retest_barcode) for r in moved] == [("resampled", rs.tubes1[0])]


def test_recall_events_for_no_recall_or_out_of_order_are_rejected(session, rs):
    pad, lab, cw = Device(), Device("lab-1"), Device("cw-1")
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1")]
    events += [lab.result(rs.tubes10[0], "positive")]
    events += [cw.recall("notified", rs.tubes10[0], 11), cw.recall("closed", rs.tubes10[0], 1)]
    assert send(session, events)[-2:] == ["recall_unknown", "recall_out_of_order"]


def test_a_recall_walks_every_step_to_closed(session, rs):
    pad, lab, cw = Device(), Device("lab-1"), Device("cw-1")
    barcode = rs.tubes10[0]
    events = [*sealed_box(pad, rs), pad.handover(["B1"]), lab.receive("B1")]
    events += [lab.result(barcode, "positive")]
    events += [
        cw.recall("notified", barcode, 1),
        cw.recall("isolated", barcode, 1),
        cw.recall("resampled", barcode, 1, retest_tube=rs.tubes1[0]),
        cw.recall("resulted", barcode, 1, result="negative"),
        cw.recall("closed", barcode, 1, note="解除"),
    ]
    assert set(send(session, events)) == {"accepted"}
    closed = session.scalars(select(Recall).where(Recall.state == "closed")).one()
    assert (closed.result, closed.note) == ("negative", "解除")
    assert closed.closed_at is not None and closed.isolated_at is not None


def test_closing_short_needs_a_reason_and_an_empty_tube_cannot_close(session, rs):
    pad = Device()
    events = [pad.close(rs.tubes10[0], "收工"), *closed_tube(pad, rs, rs.tubes10[1], range(3))]
    events.append(pad.close(rs.tubes10[1]))
    assert send(session, events)[0] == "tube_empty"
    assert session.scalar(select(Event.code).where(Event.id == events[-1]["id"])) == (
        "tube_short_no_reason"
    )


def test_a_device_confirming_a_tube_that_filled_itself_changes_nothing(session, rs):
    pad = Device()
    events = [*closed_tube(pad, rs, rs.tubes10[0], range(10)), pad.close(rs.tubes10[0])]
    assert send(session, events)[-1] == "accepted"
    tube = session.scalars(select(Tube).where(Tube.barcode == rs.tubes10[0])).one()
    assert (tube.state, tube.close_reason) == ("closed", None)


def test_a_token_of_another_round_is_scope_denied(session, rs):
    other = create_round(
        session,
        code="R2",
        name="第二轮",
        district=rs.tree.district,
        targets=[(rs.tree.community, Zone.CONTROLLED)],
        starts_at=ROUND_START,
    )
    scope = DeviceScope(device="pad-9", round_id=other.id, site_id=rs.site.id, lab_id=None)
    events = closed_tube(Device(), rs, rs.tubes10[0], range(1))
    assert send(session, events, scope) == ["scope_denied"]


def test_a_site_token_cannot_close_a_tube_opened_at_another_site(session, rs):
    pad = Device()
    send(session, closed_tube(pad, rs, rs.tubes10[0], range(2)))
    site2, _stations = add_site(
        session, round=rs.round, code="S2", name="二号点", area=rs.tree.community, stations=1
    )
    scope = DeviceScope(device="pad-2", round_id=rs.round.id, site_id=site2.id, lab_id=None)
    assert send(session, [Device("pad-2").close(rs.tubes10[0], "收工")], scope) == ["scope_denied"]


def test_a_household_tube_takes_one_household_only(session, rs):
    household_round = create_round(
        session,
        code="RH",
        name="封控区单户混采",
        district=rs.tree.district,
        targets=[(rs.tree.district, Zone.SEALED)],
        starts_at=ROUND_START,
        sealed_pooling=SealedPooling.HOUSEHOLD,
    )
    _site, stations = add_site(
        session, round=household_round, code="H1", name="封控点", area=rs.tree.community, stations=1
    )
    [barcode] = issue_tubes(session, round=household_round, count=1, capacity=0).barcodes
    pad = Device(round_code="RH")
    same = [pad.swab(stations[0].code, barcode, CODES[i]) for i in range(12)]
    walk_in = pad.swab(stations[0].code, barcode, id_number="X99", name="访客")
    assert send(session, [*same, walk_in]) == ["accepted"] * 12 + ["tube_other_household"]


def test_an_out_of_order_seal_is_rejected_and_a_resend_converges(session, rs):
    """A box sealed before its tube was closed is kept as rejected; the device (or a person
    resolving it) sends a new seal event after the close, and the box then stands."""
    pad = Device()
    early_seal = pad.seal("B1", [rs.tubes10[0]])
    swabs = closed_tube(pad, rs, rs.tubes10[0], range(4))
    assert send(session, [*swabs[:2], early_seal, *swabs[2:]])[2] == "box_tube_not_closed"
    resent = pad.seal("B1", [rs.tubes10[0]])
    assert send(session, [pad.close(rs.tubes10[0], "收工"), resent]) == ["accepted", "accepted"]
    assert session.scalar(select(Box.tube_count)) == 1
    stored = session.scalar(select(Event.status).where(Event.id == early_seal["id"]))
    assert stored == "rejected"


def test_a_negative_result_reads_no_members_and_a_positive_one_recalls_every_member(session, rs):
    pad, lab = Device(), Device("lab-1")
    events = [
        *closed_tube(pad, rs, rs.tubes10[0], range(10)),
        *closed_tube(pad, rs, rs.tubes10[1], range(10, 20)),
        pad.seal("B1", [rs.tubes10[0], rs.tubes10[1]]),
        pad.handover(["B1"]),
        lab.receive("B1"),
    ]
    assert set(send(session, events)) == {"accepted"}
    member_reads: list[str] = []

    def watch(_conn, _cursor, statement, *_args) -> None:
        if "FROM swabs" in statement and "ORDER BY swabs.tube_id" in statement:
            member_reads.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", watch)
    try:
        assert send(session, [lab.result(rs.tubes10[0], "negative")]) == ["accepted"]
        assert member_reads == []
        assert send(session, [lab.result(rs.tubes10[1], "positive")]) == ["accepted"]
        assert len(member_reads) == 1
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    recalls = session.execute(
        select(Tube.barcode, Recall.reason).join(Tube, Tube.id == Recall.tube_id)
    ).all()
    assert recalls == [(rs.tubes10[1], "positive")] * 10
