"""The broken invariants of a round, each named with its place, tubes, boxes and people.

Every check is one filter or anti-join over a projection table that returns only the rows
breaking the invariant; Python then groups those (few) rows by station, box or lab and names
the people in them, masked. `reconcile.reconcile` runs them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from tongxin.privacy import rules as privacy_rules
from tongxin.registry.models import Resident
from tongxin.screening.models import (
    Box,
    Handover,
    HandoverBox,
    Lab,
    Recall,
    Site,
    Station,
    Swab,
    Tube,
)

# Tube states from `tube_closed` on: the tube holds its final members.
CLOSED_STATES = ("closed", "boxed", "received", "resulted")
# IN-lists are cut to this length so no engine meets a parameter limit.
CHUNK = 500

# code -> (Chinese, English) message templates; `{n}` is how many items the entry names.
MESSAGES: dict[str, tuple[str, str]] = {
    "duplicate_person": (
        "同一人在本轮采样 {n} 次,已检人数比管内人数少 {extra}",
        "the same person was swabbed {n} times in this round: {extra} more tube member(s) "
        "than people",
    ),
    "members_differ": (
        "试管记录的人数与采样记录不符({n} 支试管)",
        "tube member counts disagree with the swabs recorded ({n} tube(s))",
    ),
    "tube_not_boxed": (
        "{n} 支已封管的试管未装入转运箱",
        "{n} closed tube(s) never packed into a sealed box",
    ),
    "box_not_handed_over": (
        "转运箱已封箱,未交接({n} 支试管)",
        "box sealed but never handed over ({n} tube(s))",
    ),
    "box_not_received": (
        "转运箱已交接,检测机构未接收({n} 支试管)",
        "box handed over but never received by a lab ({n} tube(s))",
    ),
    "tube_missing": (
        "检测机构接收时 {n} 支试管缺失",
        "{n} tube(s) marked missing at lab receipt",
    ),
    "tube_not_resulted": (
        "{n} 支已接收的试管还没有结果",
        "{n} received tube(s) without a result",
    ),
    "recall_missing": (
        "阳性/无效试管有 {n} 名管内人员未建立复核",
        "{n} member(s) of a positive or invalid tube have no recall",
    ),
    "recall_overdue": (
        "{n} 名复核人员已超时未闭环",
        "{n} recall(s) past their due time and not closed",
    ),
    "rejected_event": (
        "被拒绝的事件待处理:{event_code}",
        "rejected event awaiting resolution: {event_code}",
    ),
}


@dataclass(frozen=True)
class Mismatch:
    """One broken invariant: what, where, which tubes and boxes, which people."""

    code: str
    message_zh: str
    message_en: str
    place: dict[str, str | None]
    tubes: list[str] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)
    people: list[dict[str, str | None]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def mask_name(name: str | None) -> str:
    """Keep a name's first character and hide the rest, as notices show people."""
    return privacy_rules.mask_name(name)


def mask_id_number(number: str | None) -> str | None:
    """Mask an ID number the one way every screen does (first and last four kept)."""
    return privacy_rules.mask_id_number(number) if number else None


def received_present() -> ColumnElement[bool]:
    """Return the filter of tubes a lab received and did not mark missing."""
    return and_(
        Tube.received_at.is_not(None), or_(Tube.condition.is_(None), Tube.condition != "missing")
    )


# --- places and people ----------------------------------------------------------------------


@dataclass
class Places:
    """The round's stations, sites and labs by id (a few thousand rows at most)."""

    stations: dict[int, tuple[str, int]]
    sites: dict[int, str]
    labs: dict[int, str]

    @classmethod
    def load(cls, session: Session, round_id: int) -> Places:
        stations = {
            int(i): (str(code), int(site))
            for i, code, site in session.execute(
                select(Station.id, Station.code, Station.site_id).where(
                    Station.round_id == round_id
                )
            )
        }
        sites = {
            int(i): str(code)
            for i, code in session.execute(
                select(Site.id, Site.code).where(Site.round_id == round_id)
            )
        }
        labs = {int(i): str(code) for i, code in session.execute(select(Lab.id, Lab.code))}
        return cls(stations, sites, labs)

    def of(self, station_id: int | None = None, lab_id: int | None = None) -> dict[str, str | None]:
        station = self.stations.get(station_id) if station_id is not None else None
        return {
            "site": self.sites.get(station[1]) if station else None,
            "station": station[0] if station else None,
            "lab": self.labs.get(lab_id) if lab_id is not None else None,
        }


def chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def person_ref(code: str | None, name: str | None, id_number: str | None) -> dict[str, str | None]:
    return {
        "resident_code": code,
        "name": mask_name(name),
        "id_number": None if code else mask_id_number(id_number),
    }


def members_of(session: Session, tube_ids: Iterable[int]) -> dict[int, list[dict[str, str | None]]]:
    """Return the people in each tube, in position order, named for a mismatch list."""
    found: dict[int, list[dict[str, str | None]]] = defaultdict(list)
    wanted = sorted(set(tube_ids))
    for chunk in chunks(wanted):
        rows = session.execute(
            select(
                Swab.tube_id,
                Resident.resident_code,
                func.coalesce(Resident.name, Swab.name),
                Swab.id_number,
            )
            .outerjoin(Resident, Resident.id == Swab.resident_id)
            .where(Swab.tube_id.in_(chunk))
            .order_by(Swab.tube_id, Swab.position)
        )
        for tube_id, code, name, id_number in rows:
            found[int(tube_id)].append(person_ref(code, name, id_number))
    return found


def message(code: str, **values: Any) -> tuple[str, str]:
    zh, en = MESSAGES[code]
    return zh.format(**values), en.format(**values)


def entry(
    code: str,
    place: dict[str, str | None],
    *,
    tubes: Sequence[str] = (),
    boxes: Sequence[str] = (),
    people: Sequence[dict[str, str | None]] = (),
    detail: dict[str, Any] | None = None,
    **values: Any,
) -> Mismatch:
    zh, en = message(code, **values)
    return Mismatch(
        code=code,
        message_zh=zh,
        message_en=en,
        place=place,
        tubes=list(tubes),
        boxes=list(boxes),
        people=list(people),
        detail=detail or {},
    )


# --- tubes closed = tubes in sealed boxes ------------------------------------------------


def tubes_not_boxed(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    rows = list(
        session.execute(
            select(Tube.id, Tube.barcode, Tube.station_id)
            .where(
                Tube.round_id == round_id,
                Tube.state.in_(CLOSED_STATES),
                Tube.box_id.is_(None),
            )
            .order_by(Tube.station_id, Tube.barcode)
        )
    )
    members = members_of(session, [r[0] for r in rows])
    by_station: dict[int | None, list[Any]] = defaultdict(list)
    for r in rows:
        by_station[r[2]].append(r)
    return [
        entry(
            "tube_not_boxed",
            places.of(station),
            tubes=[r[1] for r in group],
            people=[p for r in group for p in members[r[0]]],
            n=len(group),
        )
        for station, group in by_station.items()
    ]


# --- boxes sealed = handed over = received ------------------------------------------------


def boxes_stuck(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    boxes = list(
        session.execute(
            select(Box.id, Box.code, Box.station_id, Box.handed_over_at, Box.lab_id)
            .where(Box.round_id == round_id, Box.received_at.is_(None))
            .order_by(Box.code)
        )
    )
    if not boxes:
        return []
    box_ids = [int(b[0]) for b in boxes]
    tubes: dict[int, list[tuple[int, str]]] = defaultdict(list)
    carriers: dict[int, str] = {}
    for chunk in chunks(box_ids):
        for box_id, tube_id, barcode in session.execute(
            select(Tube.box_id, Tube.id, Tube.barcode)
            .where(Tube.box_id.in_(chunk))
            .order_by(Tube.barcode)
        ):
            tubes[int(box_id)].append((int(tube_id), str(barcode)))
        for box_id, to_party in session.execute(
            select(HandoverBox.box_id, Handover.to_party)
            .join(Handover, Handover.id == HandoverBox.handover_id)
            .where(HandoverBox.box_id.in_(chunk))
            .order_by(Handover.at)
        ):
            carriers[int(box_id)] = str(to_party)
    members = members_of(session, [t for ts in tubes.values() for t, _ in ts])
    out = []
    for box_id, code, station, handed_over_at, lab_id in boxes:
        held = tubes[int(box_id)]
        kind = "box_not_received" if handed_over_at is not None else "box_not_handed_over"
        place = places.of(station, lab_id)
        out.append(
            entry(
                kind,
                place,
                tubes=[b for _, b in held],
                boxes=[code],
                people=[p for t, _ in held for p in members[t]],
                detail={"carrier": carriers.get(int(box_id))},
                n=len(held),
            )
        )
    return out


def tubes_missing(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    rows = list(
        session.execute(
            select(Tube.id, Tube.barcode, Box.code, Box.lab_id, Box.station_id)
            .join(Box, Box.id == Tube.box_id)
            .where(Tube.round_id == round_id, Tube.condition == "missing")
            .order_by(Box.code, Tube.barcode)
        )
    )
    members = members_of(session, [r[0] for r in rows])
    by_box: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_box[r[2]].append(r)
    return [
        entry(
            "tube_missing",
            places.of(group[0][4], group[0][3]),
            tubes=[r[1] for r in group],
            boxes=[box],
            people=[p for r in group for p in members[r[0]]],
            n=len(group),
        )
        for box, group in by_box.items()
    ]


# --- tubes received = tubes resulted -------------------------------------------------------


def tubes_not_resulted(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    rows = list(
        session.execute(
            select(Tube.id, Tube.barcode, Box.lab_id, Tube.station_id, Tube.received_at)
            .join(Box, Box.id == Tube.box_id)
            .where(Tube.round_id == round_id, received_present(), Tube.result.is_(None))
            .order_by(Box.lab_id, Tube.barcode)
        )
    )
    members = members_of(session, [r[0] for r in rows])
    by_lab: dict[int | None, list[Any]] = defaultdict(list)
    for r in rows:
        by_lab[r[2]].append(r)
    return [
        entry(
            "tube_not_resulted",
            places.of(None, lab),
            tubes=[r[1] for r in group],
            people=[p for r in group for p in members[r[0]]],
            n=len(group),
        )
        for lab, group in by_lab.items()
    ]


# --- every positive tube's members recalled and resulted ---------------------------------


def recalls_missing(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    rows = list(
        session.execute(
            select(
                Tube.barcode,
                Tube.station_id,
                Resident.resident_code,
                func.coalesce(Resident.name, Swab.name),
                Swab.id_number,
            )
            .join(Swab, Swab.tube_id == Tube.id)
            .outerjoin(Resident, Resident.id == Swab.resident_id)
            .where(
                Tube.round_id == round_id,
                Tube.result.in_(("positive", "invalid")),
                ~exists().where(Recall.swab_id == Swab.id),
            )
            .order_by(Tube.barcode, Swab.position)
        )
    )
    by_tube: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_tube[r[0]].append(r)
    return [
        entry(
            "recall_missing",
            places.of(group[0][1]),
            tubes=[barcode],
            people=[person_ref(r[2], r[3], r[4]) for r in group],
            n=len(group),
        )
        for barcode, group in by_tube.items()
    ]


def recalls_overdue(
    session: Session, places: Places, round_id: int, now: datetime
) -> list[Mismatch]:
    rows = list(
        session.execute(
            select(
                Tube.barcode,
                Tube.station_id,
                Resident.resident_code,
                func.coalesce(Resident.name, Swab.name),
                Swab.id_number,
                Recall.state,
                Recall.due_at,
            )
            .join(Tube, Tube.id == Recall.tube_id)
            .join(Swab, Swab.id == Recall.swab_id)
            .outerjoin(Resident, Resident.id == Swab.resident_id)
            .where(
                Recall.round_id == round_id,
                Recall.state != "closed",
                Recall.due_at < now,
            )
            .order_by(Tube.barcode, Swab.position)
        )
    )
    by_tube: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_tube[r[0]].append(r)
    return [
        entry(
            "recall_overdue",
            places.of(group[0][1]),
            tubes=[barcode],
            people=[person_ref(r[2], r[3], r[4]) for r in group],
            detail={
                "states": [r[5] for r in group],
                "due_at": min(r[6] for r in group).isoformat(),
            },
            n=len(group),
        )
        for barcode, group in by_tube.items()
    ]
