"""Reconcile a round: the custody counts, every broken invariant, and the time flags.

Reconciliation is a query, not a report someone types (DESIGN.md). Each count is one
aggregate over a projection table, and each invariant is one anti-join or filter that
returns only the rows that break it, so the cost is a few index scans of the round however
many people it sampled. Python only touches the (few) offending rows, to name their place,
tubes and people. Messages for each mismatch code are in Chinese and English, and the codes
are listed in docs/reconcile.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from tongxin.screening.mismatches import (
    CLOSED_STATES,
    Mismatch,
    Places,
    boxes_stuck,
    recalls_missing,
    recalls_overdue,
    received_present,
    tubes_missing,
    tubes_not_boxed,
    tubes_not_resulted,
)
from tongxin.screening.models import Box, Event, Recall, Round, Swab, Tube
from tongxin.screening.rejected import rejected_mismatch, unresolved_rejected
from tongxin.screening.sampled import duplicate_mismatches, duplicate_people, members_differ

TIME_FLAG_CODES = ("swab_to_receipt", "receipt_to_result")


@dataclass(frozen=True)
class TimeFlag:
    """A tube over a time limit (`hours` is None while the later step has not happened)."""

    code: str
    tube: str
    place: dict[str, str | None]
    hours: float | None
    limit_hours: int


@dataclass(frozen=True)
class Reconciliation:
    """The custody counts of a round at `now`, the broken invariants and the time flags."""

    round: str
    now: datetime
    people_sampled: int
    tube_members: int
    tubes_closed: int
    tubes_in_sealed_boxes: int
    boxes_sealed: int
    boxes_handed_over: int
    boxes_received: int
    tubes_received: int
    tubes_resulted: int
    positive_tubes: int
    recalls_open: int
    rejected_events: int
    mismatches: list[Mismatch]
    time_flags: list[TimeFlag]

    COUNTS = (
        "people_sampled",
        "tube_members",
        "tubes_closed",
        "tubes_in_sealed_boxes",
        "boxes_sealed",
        "boxes_handed_over",
        "boxes_received",
        "tubes_received",
        "tubes_resulted",
        "positive_tubes",
        "recalls_open",
        "rejected_events",
    )

    def counts(self) -> dict[str, int]:
        """Return the twelve custody counts by name."""
        return {name: getattr(self, name) for name in self.COUNTS}

    def as_json(self) -> dict[str, Any]:
        """Return what `tongxin screening reconcile --json` prints."""
        return {
            **self.counts(),
            "mismatches": [asdict(m) for m in self.mismatches],
            "time_flags": [asdict(f) for f in self.time_flags],
        }


def reconcile(
    session: Session,
    *,
    round_id: int,
    now: datetime,
    swab_to_receipt_hours: int = 4,
    receipt_to_result_hours: int = 12,
    flag_limit: int | None = None,
) -> Reconciliation:
    """Count the round's custody chain at `now` and list every invariant it breaks."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise LookupError(f"no round with id {round_id}")
    places = Places.load(session, round_id)
    tubes = _tube_counts(session, round_id)
    boxes = _box_counts(session, round_id)
    swabs_total = _swab_total(session, round_id)
    duplicates = duplicate_people(session, round_id)
    extra = sum(len(d.swabs) - 1 for d in duplicates)
    recalls_open = _recalls_open(session, round_id)
    rejected = unresolved_rejected(session, round_id=round_id)

    mismatches: list[Mismatch] = []
    mismatches += duplicate_mismatches(session, places, duplicates)
    if tubes["tube_members"] != swabs_total:
        mismatches += members_differ(session, places, round_id)
    mismatches += tubes_not_boxed(session, places, round_id)
    mismatches += boxes_stuck(session, places, round_id)
    mismatches += tubes_missing(session, places, round_id)
    mismatches += tubes_not_resulted(session, places, round_id)
    mismatches += recalls_missing(session, places, round_id)
    mismatches += recalls_overdue(session, places, round_id, now)
    mismatches += [rejected_mismatch(e) for e in rejected]

    flags = _time_flags(
        session,
        places,
        round_id,
        now=now,
        swab_to_receipt=swab_to_receipt_hours,
        receipt_to_result=receipt_to_result_hours,
        limit=flag_limit,
    )
    return Reconciliation(
        round=rnd.code,
        now=now,
        people_sampled=swabs_total - extra,
        tube_members=tubes["tube_members"],
        tubes_closed=tubes["tubes_closed"],
        tubes_in_sealed_boxes=tubes["tubes_in_sealed_boxes"],
        boxes_sealed=boxes["boxes_sealed"],
        boxes_handed_over=boxes["boxes_handed_over"],
        boxes_received=boxes["boxes_received"],
        tubes_received=tubes["tubes_received"],
        tubes_resulted=tubes["tubes_resulted"],
        positive_tubes=tubes["positive_tubes"],
        recalls_open=recalls_open,
        rejected_events=len(rejected),
        mismatches=mismatches,
        time_flags=flags,
    )


# --- counts -------------------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def custody_counts(session: Session, *, round_id: int) -> dict[str, int]:
    """Return the twelve custody counts of a round without naming the mismatches."""
    tubes = _tube_counts(session, round_id)
    boxes = _box_counts(session, round_id)
    extra = sum(len(d.swabs) - 1 for d in duplicate_people(session, round_id))
    rejected = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(
            Event.round_id == round_id,
            Event.status == "rejected",
            Event.resolved_at.is_(None),
        )
    )
    return {
        "people_sampled": _swab_total(session, round_id) - extra,
        "tube_members": tubes["tube_members"],
        "tubes_closed": tubes["tubes_closed"],
        "tubes_in_sealed_boxes": tubes["tubes_in_sealed_boxes"],
        "boxes_sealed": boxes["boxes_sealed"],
        "boxes_handed_over": boxes["boxes_handed_over"],
        "boxes_received": boxes["boxes_received"],
        "tubes_received": tubes["tubes_received"],
        "tubes_resulted": tubes["tubes_resulted"],
        "positive_tubes": tubes["positive_tubes"],
        "recalls_open": _recalls_open(session, round_id),
        "rejected_events": int(rejected or 0),
    }


def _swab_total(session: Session, round_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Swab).where(Swab.round_id == round_id)) or 0
    )


def _recalls_open(session: Session, round_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Recall)
            .where(Recall.round_id == round_id, Recall.state != "closed")
        )
        or 0
    )


def _tube_counts(session: Session, round_id: int) -> dict[str, int]:
    row = session.execute(
        select(
            func.coalesce(func.sum(Tube.member_count), 0),
            _count_if(Tube.state.in_(CLOSED_STATES)),
            _count_if(Tube.box_id.is_not(None)),
            _count_if(received_present()),
            _count_if(Tube.result.is_not(None)),
            _count_if(Tube.result == "positive"),
        ).where(Tube.round_id == round_id)
    ).one()
    names = (
        "tube_members",
        "tubes_closed",
        "tubes_in_sealed_boxes",
        "tubes_received",
        "tubes_resulted",
        "positive_tubes",
    )
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def _box_counts(session: Session, round_id: int) -> dict[str, int]:
    row = session.execute(
        select(
            func.count(Box.id),
            _count_if(Box.handed_over_at.is_not(None)),
            _count_if(Box.received_at.is_not(None)),
        ).where(Box.round_id == round_id)
    ).one()
    return {
        "boxes_sealed": int(row[0]),
        "boxes_handed_over": int(row[1]),
        "boxes_received": int(row[2]),
    }


# --- time flags ----------------------------------------------------------------------------


def _hours_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def _time_flags(
    session: Session,
    places: Places,
    round_id: int,
    *,
    now: datetime,
    swab_to_receipt: int,
    receipt_to_result: int,
    limit: int | None,
) -> list[TimeFlag]:
    """Flag tubes over the swab→receipt or receipt→result limit, done or still waiting."""
    flags: list[TimeFlag] = []
    # A tube's clock starts at its first swab (`opened_at`); tubes never opened hold nobody.
    to_receipt = _hours_between(session, Tube.received_at, Tube.opened_at)
    late_receipt = select(Tube.barcode, Tube.station_id, Box.lab_id, to_receipt).outerjoin(
        Box, Box.id == Tube.box_id
    )
    late_receipt = late_receipt.where(
        Tube.round_id == round_id,
        Tube.opened_at.is_not(None),
        or_(
            and_(Tube.received_at.is_not(None), to_receipt > swab_to_receipt),
            and_(
                Tube.received_at.is_(None),
                Tube.opened_at < now - timedelta(hours=swab_to_receipt),
            ),
        ),
    ).order_by(Tube.barcode)
    if limit is not None:
        late_receipt = late_receipt.limit(limit)
    for barcode, station, lab, hours in session.execute(late_receipt):
        flags.append(
            TimeFlag(
                "swab_to_receipt",
                barcode,
                places.of(station, lab),
                round(float(hours), 2) if hours is not None else None,
                swab_to_receipt,
            )
        )
    to_result = _hours_between(session, Tube.resulted_at, Tube.received_at)
    late_result = (
        select(Tube.barcode, Tube.station_id, Box.lab_id, to_result)
        .outerjoin(Box, Box.id == Tube.box_id)
        .where(
            Tube.round_id == round_id,
            received_present(),
            or_(
                and_(Tube.resulted_at.is_not(None), to_result > receipt_to_result),
                and_(
                    Tube.resulted_at.is_(None),
                    Tube.received_at < now - timedelta(hours=receipt_to_result),
                ),
            ),
        )
        .order_by(Tube.barcode)
    )
    if limit is not None:
        late_result = late_result.limit(limit)
    for barcode, station, lab, hours in session.execute(late_result):
        flags.append(
            TimeFlag(
                "receipt_to_result",
                barcode,
                places.of(station, lab),
                round(float(hours), 2) if hours is not None else None,
                receipt_to_result,
            )
        )
    return flags
