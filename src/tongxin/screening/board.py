"""Reads behind the screening pages: round progress, a site's stations, custody chains, recalls.

Each view is a handful of grouped queries over the projection tables; lists that could grow
with the city (recalls, open tubes) are bounded by a `limit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from tongxin.registry.models import Area, Household, Resident
from tongxin.screening.coverage import under
from tongxin.screening.mismatches import mask_id_number, mask_name
from tongxin.screening.models import (
    Box,
    Handover,
    HandoverBox,
    Lab,
    Recall,
    Round,
    RoundArea,
    Site,
    Station,
    Swab,
    Tube,
)
from tongxin.screening.reconcile import custody_counts

# Recall states in order; each page action moves a recall one step on.
RECALL_STEPS = ("open", "notified", "isolated", "resampled", "resulted", "closed")
NEXT_EVENT = {
    "open": "recall_notified",
    "notified": "recall_isolated",
    "isolated": "recall_resampled",
    "resampled": "recall_resulted",
    "resulted": "recall_closed",
}


@dataclass(frozen=True)
class Stage:
    """One stage of the custody chain: how many are done out of how many could be."""

    key: str
    done: int
    of: int

    @property
    def percent(self) -> float:
        """Return the share done, 0-100."""
        return 100.0 * self.done / self.of if self.of else 0.0


@dataclass(frozen=True)
class Progress:
    """A round's progress by stage against its deadline."""

    round: Round
    target_residents: int
    stages: list[Stage]
    counts: dict[str, int]
    seconds_left: float
    sites: list[tuple[Site, int]]


def round_progress(session: Session, *, rnd: Round, now: datetime) -> Progress:
    """Return the progress of a round by custody stage, and its sites with swab counts."""
    counts = custody_counts(session, round_id=rnd.id)
    targets = list(
        session.scalars(
            select(Area)
            .join(RoundArea, RoundArea.area_id == Area.id)
            .where(RoundArea.round_id == rnd.id)
        )
    )
    target = 0
    for area in targets:
        target += int(
            session.scalar(
                select(func.count())
                .select_from(Resident)
                .where(*under(area), Resident.status == "present")
            )
            or 0
        )
    opened = int(
        session.scalar(
            select(func.count())
            .select_from(Tube)
            .where(Tube.round_id == rnd.id, Tube.member_count > 0)
        )
        or 0
    )
    stages = [
        Stage("sampled", counts["people_sampled"], target),
        Stage("closed", counts["tubes_closed"], opened),
        Stage("boxed", counts["tubes_in_sealed_boxes"], counts["tubes_closed"]),
        Stage("handed_over", counts["boxes_handed_over"], counts["boxes_sealed"]),
        Stage("received", counts["boxes_received"], counts["boxes_sealed"]),
        Stage("resulted", counts["tubes_resulted"], counts["tubes_received"]),
    ]
    per_site = dict(
        session.execute(
            select(Station.site_id, func.count(Swab.id))
            .join(Swab, Swab.station_id == Station.id)
            .where(Station.round_id == rnd.id)
            .group_by(Station.site_id)
        )
        .tuples()
        .all()
    )
    sites = list(session.scalars(select(Site).where(Site.round_id == rnd.id).order_by(Site.code)))
    return Progress(
        round=rnd,
        target_residents=target,
        stages=stages,
        counts=counts,
        seconds_left=(rnd.deadline - now).total_seconds(),
        sites=[(s, int(per_site.get(s.id, 0))) for s in sites],
    )


@dataclass(frozen=True)
class StationView:
    """A station's swabs, tubes by state and boxes."""

    station: Station
    swabs: int
    open_tubes: int
    closed_tubes: int
    boxed_tubes: int
    boxes: int


@dataclass(frozen=True)
class SiteView:
    """A site: its stations, its open tubes and its boxes."""

    site: Site
    stations: list[StationView]
    open_tubes: list[Tube]
    boxes: list[Box]


def site_view(session: Session, *, site: Site, limit: int = 200) -> SiteView:
    """Return a site's stations with counts, its open tubes and its boxes (newest first)."""
    stations = list(
        session.scalars(select(Station).where(Station.site_id == site.id).order_by(Station.id))
    )
    ids = [s.id for s in stations]
    swabs = dict(
        session.execute(
            select(Swab.station_id, func.count())
            .where(Swab.station_id.in_(ids))
            .group_by(Swab.station_id)
        )
        .tuples()
        .all()
    )
    tubes: dict[int, tuple[int, int, int]] = {}
    for sid, opened, closed, boxed in session.execute(
        select(
            Tube.station_id,
            func.sum(case((Tube.state == "open", 1), else_=0)),
            func.sum(case((Tube.state == "closed", 1), else_=0)),
            func.sum(case((Tube.box_id.is_not(None), 1), else_=0)),
        )
        .where(Tube.round_id == site.round_id, Tube.station_id.in_(ids))
        .group_by(Tube.station_id)
    ):
        tubes[int(sid)] = (int(opened or 0), int(closed or 0), int(boxed or 0))
    boxes_n = dict(
        session.execute(
            select(Box.station_id, func.count())
            .where(Box.round_id == site.round_id, Box.station_id.in_(ids))
            .group_by(Box.station_id)
        )
        .tuples()
        .all()
    )
    views = [
        StationView(
            s, int(swabs.get(s.id, 0)), *tubes.get(s.id, (0, 0, 0)), int(boxes_n.get(s.id, 0))
        )
        for s in stations
    ]
    open_tubes = list(
        session.scalars(
            select(Tube)
            .where(
                Tube.round_id == site.round_id,
                Tube.station_id.in_(ids),
                Tube.state.in_(("open", "closed")),
            )
            .order_by(Tube.opened_at, Tube.barcode)
            .limit(limit)
        )
    )
    boxes = list(
        session.scalars(
            select(Box)
            .where(Box.round_id == site.round_id, Box.station_id.in_(ids))
            .order_by(Box.sealed_at.desc(), Box.code)
            .limit(limit)
        )
    )
    return SiteView(site, views, open_tubes, boxes)


@dataclass
class Chain:
    """The chain of custody of one tube or one box."""

    kind: str  # tube | box
    tube: Tube | None = None
    box: Box | None = None
    station: str | None = None
    site: str | None = None
    lab: str | None = None
    # The area of the site where the tube or box was packed: what jurisdiction checks use.
    site_area_id: int | None = None
    members: list[dict[str, Any]] = field(default_factory=list)
    tubes: list[Tube] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    recalls: list[Recall] = field(default_factory=list)


def custody_chain(session: Session, *, round_id: int, query: str) -> Chain | None:
    """Find a tube barcode or a box code in the round and return its chain of custody."""
    q = query.strip()
    if not q:
        return None
    tube = session.scalar(select(Tube).where(Tube.round_id == round_id, Tube.barcode == q))
    box: Box | None
    if tube is not None:
        chain = Chain(kind="tube", tube=tube)
        box = session.get(Box, tube.box_id) if tube.box_id is not None else None
        chain.members = _members(session, tube.id)
        chain.recalls = list(
            session.scalars(select(Recall).where(Recall.tube_id == tube.id).order_by(Recall.id))
        )
        station_id = tube.station_id
    else:
        box = session.scalar(select(Box).where(Box.round_id == round_id, Box.code == q))
        if box is None:
            return None
        chain = Chain(kind="box")
        chain.tubes = list(
            session.scalars(select(Tube).where(Tube.box_id == box.id).order_by(Tube.barcode))
        )
        station_id = box.station_id
    chain.box = box
    if box is not None:
        chain.handovers = list(
            session.scalars(
                select(Handover)
                .join(HandoverBox, HandoverBox.handover_id == Handover.id)
                .where(HandoverBox.box_id == box.id)
                .order_by(Handover.at)
            )
        )
        if box.lab_id is not None:
            chain.lab = session.scalar(select(Lab.code).where(Lab.id == box.lab_id))
    if station_id is not None:
        row = session.execute(
            select(Station.code, Site.code, Site.area_id)
            .join(Site, Site.id == Station.site_id)
            .where(Station.id == station_id)
        ).first()
        if row is not None:
            chain.station, chain.site, chain.site_area_id = row
    return chain


def _members(session: Session, tube_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Swab, Resident.resident_code, Resident.name)
        .outerjoin(Resident, Resident.id == Swab.resident_id)
        .where(Swab.tube_id == tube_id)
        .order_by(Swab.position)
    )
    return [
        {
            "position": swab.position,
            "resident_code": code,
            "name": mask_name(name or swab.name),
            "id_number": None if code else mask_id_number(swab.id_number),
            "taken_at": swab.taken_at,
            "duplicate": swab.duplicate_person,
        }
        for swab, code, name in rows
    ]


@dataclass(frozen=True)
class RecallRow:
    """One recalled person as the recall board shows them."""

    recall: Recall
    tube: str
    position: int
    name: str
    resident_code: str | None
    phone: str | None
    address: str
    overdue: bool
    next_event: str | None


def recall_board(
    session: Session,
    *,
    round_id: int,
    now: datetime,
    residents_clause: Any,
    include_walk_ins: bool,
    show_closed: bool = False,
    limit: int = 200,
) -> list[RecallRow]:
    """List a round's recalls, overdue first then by due time, with address and phone."""
    building = Area.__table__.alias("building")
    unit = Area.__table__.alias("unit")
    stmt = (
        select(
            Recall,
            Tube.barcode,
            Swab.position,
            Swab.name,
            Swab.phone,
            Resident.resident_code,
            Resident.name,
            Resident.phone,
            Household.room,
            unit.c.name,
            unit.c.level,
            building.c.name,
        )
        .join(Tube, Tube.id == Recall.tube_id)
        .join(Swab, Swab.id == Recall.swab_id)
        .outerjoin(Resident, Resident.id == Recall.resident_id)
        .outerjoin(Household, Household.id == Resident.household_id)
        .outerjoin(unit, unit.c.id == Household.area_id)
        .outerjoin(building, building.c.id == Resident.building_id)
        .where(Recall.round_id == round_id)
    )
    stmt = stmt.where(
        or_(residents_clause, Recall.resident_id.is_(None))
        if include_walk_ins
        else residents_clause
    )
    if not show_closed:
        stmt = stmt.where(Recall.state != "closed")
    stmt = stmt.order_by(Recall.due_at, Tube.barcode, Swab.position).limit(limit)
    rows = []
    for (
        recall,
        barcode,
        position,
        walk_in_name,
        walk_in_phone,
        code,
        name,
        phone,
        room,
        unit_name,
        unit_level,
        building_name,
    ) in session.execute(stmt):
        parts = [building_name or "", unit_name if unit_level == "unit" else "", room or ""]
        rows.append(
            RecallRow(
                recall=recall,
                tube=barcode,
                position=position,
                name=name or walk_in_name or "",
                resident_code=code,
                phone=phone or walk_in_phone,
                address=" ".join(p for p in parts if p),
                overdue=recall.state != "closed" and recall.due_at < now,
                next_event=NEXT_EVENT.get(recall.state),
            )
        )
    return rows


def recall_visible(
    session: Session,
    *,
    round_id: int,
    tube: str,
    position: int,
    residents_clause: Any,
    include_walk_ins: bool,
) -> bool:
    """Tell whether the recall of this tube position lies where the recall board shows it.

    The same filter as `recall_board`, so nobody moves a recall they cannot see.
    """
    stmt = (
        select(Recall.id)
        .join(Tube, Tube.id == Recall.tube_id)
        .join(Swab, Swab.id == Recall.swab_id)
        .outerjoin(Resident, Resident.id == Recall.resident_id)
        .where(Recall.round_id == round_id, Tube.barcode == tube, Swab.position == position)
        .where(
            or_(residents_clause, Recall.resident_id.is_(None))
            if include_walk_ins
            else residents_clause
        )
    )
    return session.scalar(stmt.limit(1)) is not None
