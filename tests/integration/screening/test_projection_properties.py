"""Properties of the ledger's projections: order- and replay-independence, and rebuild.

What is proved here (hypothesis, small examples):

1. Take a valid round's event stream made by several devices: site devices that each swab
   their own tubes, close, seal and hand over their own box; a lab device that receives the
   boxes and reports results; a community device that walks recalls. Deliver it in ANY
   interleaving that keeps each device's own order (devices send in `seq` order) and the
   custody causality between devices (a box is received only after its handover, a recall
   step only after the result that opened it), cut into ANY batches, with ANY events
   resent later (as a device does when it missed an acknowledgement). Every event is then
   answered accepted or duplicate, and the projections equal those of the plain
   device-by-device order in one batch.
2. `rebuild_projections` from the stored events gives exactly the live tables (every
   column but surrogate ids, with ids mapped to codes).

Reorderings that break causality are a different matter: they make events that are
rejected and kept (`test_an_out_of_order_seal_is_rejected_and_a_resend_converges` in
test_ledger_rules.py shows that case and that a resend after the fact converges).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.events import Device
from tests.factories.screening import ROUND_START, RoundSetup, build_round
from tongxin.registry.rules import resident_code
from tongxin.screening.ledger import ingest_events, rebuild_projections
from tongxin.screening.models import Box, Handover, HandoverBox, Recall, Swab, Tube

NOW = ROUND_START + timedelta(hours=2)
CODES = [resident_code(10_000 + i) for i in range(30)]
DUE = timedelta(hours=24)


@pytest.fixture
def rs(session: Session) -> RoundSetup:
    return build_round(session)


Stream = dict[str, list[tuple[dict[str, Any], set[str]]]]


@st.composite
def round_streams(draw: st.DrawFn, rs: RoundSetup) -> Stream:
    """Draw a valid round: per device, its events in order, each with the ids it waits for."""
    devices: Stream = {}
    lab, community = Device("lab-1"), Device("cw-1")
    lab_events: list[tuple[dict[str, Any], set[str]]] = []
    recall_events: list[tuple[dict[str, Any], set[str]]] = []
    people = iter(range(30))
    tubes = iter(rs.tubes10)
    for d in range(draw(st.integers(1, 3))):
        pad = Device(f"pad-{d}")
        station = rs.stations[d % 2].code
        mine: list[tuple[dict[str, Any], set[str]]] = []
        closed: list[str] = []
        for _t in range(draw(st.integers(1, 2))):
            barcode = next(tubes)
            fill = draw(st.integers(1, 10))
            taken = [next(people, None) for _ in range(fill)]
            who = [p for p in taken if p is not None]
            if not who:
                continue
            mine += [(pad.swab(station, barcode, CODES[p]), set()) for p in who]
            if len(who) < 10:
                mine.append((pad.close(barcode, "收工"), set()))
            closed.append(barcode)
        if not closed:
            continue
        box = f"B{d}"
        mine.append((pad.seal(box, closed), set()))
        handover = pad.handover([box])
        mine.append((handover, set()))
        devices[pad.name] = mine
        received = lab.receive(box)
        lab_events.append((received, {handover["id"]}))
        for barcode in closed:
            outcome = draw(st.sampled_from(["negative", "negative", "positive", "invalid"]))
            result = lab.result(barcode, outcome)
            lab_events.append((result, set()))
            if outcome == "positive":
                notified = community.recall("notified", barcode, 1)
                recall_events.append((notified, {result["id"]}))
                recall_events.append((community.recall("isolated", barcode, 1), set()))
            elif outcome == "invalid":
                notified = community.recall("notified", barcode, 1)
                recall_events.append((notified, {result["id"]}))
                recall_events.append(
                    (community.recall("resampled", barcode, 1, retest_tube=rs.tubes1[0]), set())
                )
    devices[lab.name] = lab_events
    devices[community.name] = recall_events
    return devices


def canonical_order(stream: Stream) -> list[dict[str, Any]]:
    """Every site device in turn, then the lab, then recalls: one valid order."""
    return [e for events in stream.values() for e, _deps in events]


@st.composite
def deliveries(draw: st.DrawFn, stream: Stream) -> list[list[dict[str, Any]]]:
    """Draw an interleaving that respects each device's order and causality, with resends,
    cut into batches."""
    cursor = dict.fromkeys(stream, 0)
    sent: set[str] = set()
    order: list[dict[str, Any]] = []
    while True:
        ready = [
            name
            for name, events in stream.items()
            if cursor[name] < len(events) and events[cursor[name]][1] <= sent
        ]
        if not ready:
            break
        name = ready[draw(st.integers(0, len(ready) - 1))]
        event = stream[name][cursor[name]][0]
        cursor[name] += 1
        sent.add(event["id"])
        order.append(event)
    assert len(order) == sum(len(v) for v in stream.values())
    for _ in range(draw(st.integers(0, 5))):
        i = draw(st.integers(0, len(order) - 1))
        j = draw(st.integers(i + 1, len(order)))
        order.insert(j, dict(order[i]))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(order)), max_size=6))))
    bounds = [0, *cuts, len(order)]
    return [order[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def dump(session: Session, round_id: int) -> dict[str, Any]:
    """Every projection row of a round, surrogate ids replaced by codes, in a stable order."""
    barcode = dict(session.execute(select(Tube.id, Tube.barcode)).tuples().all())
    box_code = dict(session.execute(select(Box.id, Box.code)).tuples().all())
    swab_key = {
        sid: (barcode[t], p)
        for sid, t, p in session.execute(select(Swab.id, Swab.tube_id, Swab.position))
    }

    def rows(model: Any, skip: tuple[str, ...] = ("id",)) -> list[tuple[Any, ...]]:
        table = model.__table__
        cols = [c for c in table.c if c.name not in skip]
        out = []
        for row in session.execute(select(*cols).where(table.c.round_id == round_id)):
            values = dict(zip([c.name for c in cols], row, strict=True))
            for name in ("tube_id", "box_id"):
                if name in values and values[name] is not None:
                    values[name] = (barcode if name == "tube_id" else box_code)[values[name]]
            if "swab_id" in values:
                values["swab_id"] = swab_key[values["swab_id"]]
            out.append(tuple(sorted(values.items(), key=lambda kv: kv[0])))
        return sorted(out, key=repr)

    handover_boxes = sorted(
        (event_id, box_code[box_id])
        for event_id, box_id in session.execute(
            select(Handover.event_id, HandoverBox.box_id).join(
                Handover, Handover.id == HandoverBox.handover_id
            )
        )
    )
    return {
        "tubes": rows(Tube),
        "swabs": rows(Swab),
        "boxes": rows(Box),
        "handovers": rows(Handover),
        "handover_boxes": handover_boxes,
        "recalls": rows(Recall),
    }


def deliver(session: Session, batches: list[list[dict[str, Any]]]) -> list[str]:
    statuses = []
    for batch in batches:
        answers = ingest_events(session, events=batch, received_at=NOW, recall_due=DUE)
        statuses += [a.code or a.status for a in answers]
    return statuses


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_causal_interleaving_batching_and_resend_gives_the_same_projections(
    session: Session, rs: RoundSetup, data: st.DataObject
) -> None:
    stream = data.draw(round_streams(rs))
    batches = data.draw(deliveries(stream))
    with session.begin_nested() as plain:
        assert set(deliver(session, [canonical_order(stream)])) == {"accepted"}
        expected = dump(session, rs.round.id)
        assert expected["swabs"] and expected["boxes"]
        plain.rollback()
    with session.begin_nested() as shuffled:
        statuses = deliver(session, batches)
        assert set(statuses) <= {"accepted", "duplicate"}
        assert statuses.count("accepted") == len(canonical_order(stream))
        assert dump(session, rs.round.id) == expected
        shuffled.rollback()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rebuilding_from_the_event_log_gives_exactly_the_live_tables(
    session: Session, rs: RoundSetup, data: st.DataObject
) -> None:
    stream = data.draw(round_streams(rs))
    batches = data.draw(deliveries(stream))
    with session.begin_nested() as attempt:
        deliver(session, batches)
        # A few events that break rules are stored too; the rebuild must keep them out.
        deliver(session, [[Device("pad-x").swab(rs.stations[0].code, "T00000000000", CODES[0])]])
        live = dump(session, rs.round.id)
        report = rebuild_projections(session, round_id=rs.round.id, recall_due=DUE)
        assert report.divergent == []
        assert dump(session, rs.round.id) == live
        attempt.rollback()
