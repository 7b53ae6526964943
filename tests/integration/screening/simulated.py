"""A simulated round on the factory round: facts for the simulator and projection snapshots."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.registry import add_residents
from tests.factories.screening import RoundSetup
from tongxin.registry.rules import resident_code
from tongxin.screening.models import Box, Handover, Recall, Swab, Tube
from tongxin.screening.setup import add_site, issue_tubes
from tongxin.screening.simulate import RoundFacts, StationPlan, walk_ins

LAB_DEVICE = "lab-1"
RECALL_DEVICE = "recall-1"


def round_facts(
    session: Session,
    r: RoundSetup,
    *,
    residents: int = 60,
    visitors: int = 4,
    stations: int = 2,
    tubes10: int = 0,
    retests: int = 20,
    rng: Random,
    **options: Any,
) -> RoundFacts:
    """Describe the factory round for the simulator, with more people, stations and tubes.

    The factory's 30 residents are topped up to `residents` (all in one household, so all at
    10:1), `visitors` walk-ins join the queue, and a site S2 with `stations` stations opens
    when more than the factory's two are wanted.
    """
    if residents > 30:
        add_residents(session, r.tree.household, residents - 30, start=30)
    codes = [s.code for s in r.stations]
    if stations > len(r.stations):
        _site, made = add_site(
            session,
            round=r.round,
            code="S2",
            name="新星社区二号点",
            area=r.tree.community,
            stations=stations,
        )
        codes = [s.code for s in made]
    ten = list(r.tubes10)
    if tubes10:
        ten += issue_tubes(session, round=r.round, count=tubes10, capacity=10).barcodes
    spare = issue_tubes(session, round=r.round, count=retests, capacity=1).barcodes
    queue: list[dict[str, str]] = [
        {"resident_code": resident_code(10_000 + i)} for i in range(residents)
    ]
    queue += walk_ins(rng, visitors)
    plans = [
        StationPlan(
            code,
            f"pad-{n}",
            10,
            queue[n * len(queue) // len(codes) : (n + 1) * len(queue) // len(codes)],
        )
        for n, code in enumerate(codes)
    ]
    return RoundFacts(
        round=r.round.code,
        stations=plans,
        tubes={10: ten, 1: list(r.tubes1)},
        lab=r.lab.code,
        lab_device=LAB_DEVICE,
        recall_device=RECALL_DEVICE,
        retest_tubes=spare,
        **options,
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def projections(session: Session, round_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Return a round's projections keyed by natural keys (barcodes, codes, event ids)."""
    tube_code = dict(
        session.execute(select(Tube.id, Tube.barcode).where(Tube.round_id == round_id)).all()
    )
    box_code = dict(session.execute(select(Box.id, Box.code).where(Box.round_id == round_id)).all())
    out: dict[str, list[tuple[Any, ...]]] = {}
    out["tubes"] = sorted(
        (
            t.barcode,
            t.state,
            t.member_count,
            t.close_reason,
            box_code.get(t.box_id),
            t.condition,
            t.result,
            t.ct,
            _plain(t.closed_at),
            _plain(t.received_at),
            _plain(t.resulted_at),
        )
        for t in session.scalars(select(Tube).where(Tube.round_id == round_id))
    )
    out["swabs"] = sorted(
        (
            s.event_id,
            tube_code[s.tube_id],
            s.position,
            s.resident_id,
            s.id_number,
            s.duplicate_person,
            _plain(s.taken_at),
        )
        for s in session.scalars(select(Swab).where(Swab.round_id == round_id))
    )
    out["boxes"] = sorted(
        (
            b.code,
            b.seal_number,
            b.tube_count,
            b.state,
            _plain(b.handed_over_at),
            b.lab_id,
            _plain(b.received_at),
        )
        for b in session.scalars(select(Box).where(Box.round_id == round_id))
    )
    out["handovers"] = sorted(
        (h.event_id, h.from_party, h.to_party, h.box_count)
        for h in session.scalars(select(Handover).where(Handover.round_id == round_id))
    )
    out["recalls"] = sorted(
        (
            tube_code[c.tube_id],
            c.reason,
            c.state,
            c.retest_barcode,
            c.result,
            _plain(c.due_at),
            _plain(c.closed_at),
        )
        for c in session.scalars(select(Recall).where(Recall.round_id == round_id))
    )
    return out
