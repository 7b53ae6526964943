"""Write projection rows directly, so read-side tests can stage any custody state.

The ledger writes these tables in production; here a test places exactly the state it reads
(a tube closed but never boxed, a box stuck in transit...) without sending events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.screening import ROUND_START, RoundSetup
from tongxin.registry.models import Resident
from tongxin.screening.models import Box, Event, Handover, HandoverBox, Recall, Swab, Tube

T0 = ROUND_START + timedelta(hours=1)


def residents(session: Session) -> list[Resident]:
    """Return every resident in id order."""
    return list(session.scalars(select(Resident).order_by(Resident.id)))


def tube(session: Session, barcode: str) -> Tube:
    """Return the tube with this barcode."""
    found = session.scalar(select(Tube).where(Tube.barcode == barcode))
    assert found is not None, barcode
    return found


def swab(
    session: Session,
    r: RoundSetup,
    barcode: str,
    people: Sequence[Resident],
    *,
    at: datetime = T0,
    station: int = 0,
) -> Tube:
    """Put each person's swab into the tube at the next positions."""
    t = tube(session, barcode)
    for person in people:
        t.member_count += 1
        session.add(
            Swab(
                event_id=str(uuid.uuid4()),
                round_id=r.round.id,
                district_id=r.round.district_id,
                tube_id=t.id,
                position=t.member_count,
                resident_id=person.id,
                building_id=person.building_id,
                station_id=r.stations[station].id,
                device="pad-1",
                taken_at=at,
            )
        )
    t.state = "open"
    t.station_id = r.stations[station].id
    t.opened_at = t.opened_at or at
    session.flush()
    return t


def close(session: Session, barcode: str, *, at: datetime = T0) -> None:
    """Close a tube."""
    t = tube(session, barcode)
    t.state = "closed"
    t.closed_at = at
    session.flush()


def seal(
    session: Session,
    r: RoundSetup,
    code: str,
    barcodes: Sequence[str],
    *,
    at: datetime = T0,
    station: int = 0,
) -> Box:
    """Seal closed tubes into a box."""
    box = Box(
        round_id=r.round.id,
        district_id=r.round.district_id,
        code=code,
        seal_number=f"SEAL-{code}",
        tube_count=len(barcodes),
        station_id=r.stations[station].id,
        state="sealed",
        sealed_at=at,
    )
    session.add(box)
    session.flush()
    for b in barcodes:
        t = tube(session, b)
        t.box_id = box.id
        t.state = "boxed"
    session.flush()
    return box


def hand_over(session: Session, r: RoundSetup, box: Box, *, at: datetime = T0) -> None:
    """Hand a box from the site to a courier, both confirming."""
    h = Handover(
        event_id=str(uuid.uuid4()),
        round_id=r.round.id,
        from_party="S1",
        to_party="courier-7",
        box_count=1,
        at=at,
    )
    session.add(h)
    session.flush()
    session.add(HandoverBox(handover_id=h.id, box_id=box.id))
    box.state = "handed_over"
    box.handed_over_at = at
    session.flush()


def receive(
    session: Session,
    r: RoundSetup,
    box: Box,
    *,
    at: datetime = T0,
    conditions: dict[str, str] | None = None,
) -> None:
    """Receive a box at the round's lab, with each tube's condition (good unless given)."""
    box.state = "received"
    box.received_at = at
    box.lab_id = r.lab.id
    for t in session.scalars(select(Tube).where(Tube.box_id == box.id)):
        t.state = "received"
        t.received_at = at
        t.condition = (conditions or {}).get(t.barcode, "good")
    session.flush()


def result(
    session: Session,
    r: RoundSetup,
    barcode: str,
    value: str,
    *,
    at: datetime = T0,
    due_hours: int = 24,
    recalls: bool = True,
) -> None:
    """Report a tube's result; positive and invalid tubes open one recall per member."""
    t = tube(session, barcode)
    t.state = "resulted"
    t.result = value
    t.resulted_at = at
    if value != "negative" and recalls:
        for s in session.scalars(select(Swab).where(Swab.tube_id == t.id)):
            session.add(
                Recall(
                    round_id=r.round.id,
                    district_id=r.round.district_id,
                    tube_id=t.id,
                    swab_id=s.id,
                    resident_id=s.resident_id,
                    reason=value,
                    state="open",
                    opened_at=at,
                    due_at=at + timedelta(hours=due_hours),
                )
            )
    session.flush()


def complete_round(session: Session, r: RoundSetup) -> list[Resident]:
    """Stage a round whose chain is whole: 30 people, 3 tubes, 1 box, 1 positive tube."""
    people = residents(session)[:30]
    for i in range(3):
        swab(session, r, r.tubes10[i], people[10 * i : 10 * i + 10], at=T0)
        close(session, r.tubes10[i], at=T0 + timedelta(minutes=20))
    box = seal(session, r, "B1", r.tubes10[:3], at=T0 + timedelta(minutes=30))
    hand_over(session, r, box, at=T0 + timedelta(hours=1))
    receive(session, r, box, at=T0 + timedelta(hours=2))
    for i, value in enumerate(("negative", "positive", "negative")):
        result(session, r, r.tubes10[i], value, at=T0 + timedelta(hours=6))
    return people


def rejected_event(
    session: Session,
    r: RoundSetup,
    *,
    code: str,
    payload: dict[str, object],
    resolved: bool = False,
    number_hint: int = 0,
) -> Event:
    """Store a rejected event as the ledger keeps it."""
    e = Event(
        id=str(uuid.uuid4()),
        device="pad-1",
        seq=number_hint,
        type=str(payload.get("type", "swab_taken")),
        round_id=r.round.id,
        district_id=r.round.district_id,
        at=T0,
        received_at=T0,
        status="rejected",
        code=code,
        message_zh=f"拒绝:{code}",
        message_en=f"rejected: {code}",
        payload=payload,
        resolved_at=T0 if resolved else None,
        resolved_by="admin" if resolved else None,
        resolution="checked" if resolved else None,
    )
    session.add(e)
    session.flush()
    return e
