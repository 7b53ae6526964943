"""Reconciliation of rounds fed through the ledger, as devices would send them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from random import Random

from tests.factories.screening import ROUND_START, build_round
from tests.integration.screening.simulated import round_facts
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area
from tongxin.screening.coverage import coverage, total
from tongxin.screening.ledger import ingest_events, rebuild_projections
from tongxin.screening.reconcile import reconcile
from tongxin.screening.simulate import simulate_round

NOW = ROUND_START + timedelta(hours=10)
BATCH = 40
WALK_INS = 4


def _feed(db, *, positives: int):
    factory = make_sessionmaker(db)
    with session_scope(factory) as session:
        r = build_round(session)
        facts = round_facts(
            session, r, rng=Random(7), visitors=WALK_INS, box_tubes=2, positives=positives
        )
        ids = (r.round.id, r.tree.street.id)
    sim = simulate_round(facts, Random(8))
    for i in range(0, len(sim.events), BATCH):
        with session_scope(factory) as session:
            answers = ingest_events(session, events=sim.events[i : i + BATCH], received_at=NOW)
            assert {a.status for a in answers} == {"accepted"}
    return factory, ids, sim


def test_a_valid_round_reconciles_exactly_with_its_simulated_totals(db):
    factory, (round_id, _), sim = _feed(db, positives=1)

    with session_scope(factory) as session:
        rec = reconcile(session, round_id=round_id, now=NOW)

    assert rec.people_sampled == rec.tube_members == sim.people
    assert rec.tubes_closed == rec.tubes_in_sealed_boxes == len(sim.tubes)
    assert rec.boxes_sealed == rec.boxes_handed_over == rec.boxes_received == len(sim.boxes)
    assert rec.positive_tubes == len(sim.positive_tubes)
    assert rec.mismatches == []
    assert rec.rejected_events == 0


def test_rebuilding_the_projections_reconciles_to_the_same_answer(db):
    factory, (round_id, _), _sim = _feed(db, positives=1)
    with session_scope(factory) as session:
        before = reconcile(session, round_id=round_id, now=NOW)

    with session_scope(factory) as session:
        rebuild_projections(session, round_id=round_id)
    with session_scope(factory) as session:
        after = reconcile(session, round_id=round_id, now=NOW)

    assert asdict(after) == asdict(before)


def test_coverage_counts_every_registered_person_the_round_sampled(db):
    factory, (round_id, street_id), _sim = _feed(db, positives=0)

    with session_scope(factory) as session:
        street = session.get(Area, street_id)
        rows = coverage(session, round_id=round_id, area=street)
        rec = reconcile(session, round_id=round_id, now=NOW)

    # Walk-ins are sampled but live nowhere in the registry, so coverage leaves them out.
    assert total(rows)["tested"] == rec.people_sampled - WALK_INS
