"""A stream with four planted faults: reconcile names exactly those faults and nothing else."""

from __future__ import annotations

from datetime import timedelta
from random import Random

from tests.factories.screening import ROUND_START, build_round
from tests.integration.screening.simulated import round_facts
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.ledger import ingest_events
from tongxin.screening.reconcile import reconcile
from tongxin.screening.simulate import simulate_round
from tongxin.screening.simulate_faults import plant_faults

NOW = ROUND_START + timedelta(hours=30)
BATCH = 25


def test_planted_faults_are_named_exactly_and_nothing_else_is(db):
    factory = make_sessionmaker(db)
    with session_scope(factory) as session:
        r = build_round(session)
        facts = round_facts(session, r, rng=Random(1), box_tubes=2, positives=1)
        round_id = r.round.id
    sim = simulate_round(facts, Random(2))
    stream, planted = plant_faults(sim.events, Random(3), replay=BATCH)

    answers = []
    for i in range(0, len(stream), BATCH):
        with session_scope(factory) as session:
            answers += ingest_events(session, events=stream[i : i + BATCH], received_at=NOW)

    rejected = {a.id: a.code for a in answers if a.status == "rejected"}
    assert rejected == {
        planted.overfill_event: "tube_full",
        planted.unknown_result_event: "result_tube_unknown",
    }
    assert sorted(a.id for a in answers if a.status == "duplicate") == sorted(planted.replayed)

    with session_scope(factory) as session:
        rec = reconcile(session, round_id=round_id, now=NOW)

    lost = planted.unreceived_tubes
    assert rec.rejected_events == 2
    assert sorted(m.code for m in rec.mismatches) == [
        "box_not_received",
        "rejected_event",
        "rejected_event",
    ]
    stuck = next(m for m in rec.mismatches if m.code == "box_not_received")
    assert stuck.boxes == [planted.unreceived_box]
    assert sorted(stuck.tubes) == lost
    assert len(stuck.people) == sum(sim.members[t] for t in lost)
    named = {m.detail["event"]: m.tubes for m in rec.mismatches if m.code == "rejected_event"}
    assert named == {
        planted.overfill_event: [planted.overfilled_tube],
        planted.unknown_result_event: [planted.unknown_tube],
    }
    assert {f.tube for f in rec.time_flags} <= set(lost)

    boxes = len(sim.boxes)
    assert rec.counts() == {
        "people_sampled": sim.people,
        "tube_members": sim.people,
        "tubes_closed": len(sim.tubes),
        "tubes_in_sealed_boxes": len(sim.tubes),
        "boxes_sealed": boxes,
        "boxes_handed_over": boxes,
        "boxes_received": boxes - 1,
        "tubes_received": len(sim.tubes) - len(lost),
        "tubes_resulted": len(sim.tubes) - len(lost),
        "positive_tubes": len(set(sim.positive_tubes) - set(lost)),
        "recalls_open": 0,
        "rejected_events": 2,
    }
