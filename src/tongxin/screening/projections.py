"""The projection state one ledger batch touches: loaded with a few `IN` queries, written back
with a few executemany statements.

`load_state` reads every tube, box, station, resident and recall the batch names (on
PostgreSQL the tubes are locked `FOR UPDATE`, on SQLite the writer lock is taken first), the
ledger decides each event against this in-memory copy, and `write_state` stores the new
swabs, boxes, handovers and recalls and the changed rows. A tube's fill is written with a
conditional update that cannot overfill it even if the locking were bypassed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from tongxin.db import Base
from tongxin.registry.models import Resident
from tongxin.screening.bulk import insert_rows
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


@dataclass
class RoundInfo:
    id: int
    code: str
    district_id: int
    sealed_pooling: str
    controlled_pool: int
    precaution_pool: int
    key_group_pool: int
    zones: dict[int, str]


@dataclass
class StationInfo:
    id: int
    code: str
    site_id: int
    round_id: int
    zone: str


@dataclass
class PersonInfo:
    id: int
    household_id: int
    building_id: int
    key_group: bool
    ancestors: tuple[int, ...]


TUBE_FIELDS = (
    "state",
    "member_count",
    "station_id",
    "household_id",
    "opened_at",
    "closed_at",
    "close_reason",
    "box_id",
    "received_at",
    "condition",
    "result",
    "ct",
    "resulted_at",
)


@dataclass
class TubeRow:
    id: int
    barcode: str
    round_id: int
    district_id: int
    capacity: int
    state: str
    member_count: int
    station_id: int | None
    household_id: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    box_id: int | None
    received_at: datetime | None
    condition: str | None
    result: str | None
    ct: float | None
    resulted_at: datetime | None
    loaded_count: int = 0
    box_key: tuple[int, str] | None = None
    dirty: bool = False


@dataclass
class BoxRow:
    id: int | None
    round_id: int
    district_id: int
    code: str
    seal_number: str
    tube_count: int
    station_id: int | None
    state: str
    sealed_at: datetime
    handed_over_at: datetime | None = None
    lab_id: int | None = None
    received_at: datetime | None = None
    tubes: list[str] = field(default_factory=list)
    dirty: bool = False


@dataclass
class Member:
    """A swab in a tube, as far as results and recalls need it."""

    tube: str
    position: int
    resident_id: int | None
    swab_id: int | None = None


RECALL_FIELDS = (
    "state",
    "notified_at",
    "isolated_at",
    "resampled_at",
    "retest_barcode",
    "result",
    "resulted_at",
    "closed_at",
    "note",
)


@dataclass
class RecallRow:
    id: int | None
    round_id: int
    district_id: int
    tube: str
    position: int
    resident_id: int | None
    reason: str
    state: str
    opened_at: datetime
    due_at: datetime
    notified_at: datetime | None = None
    isolated_at: datetime | None = None
    resampled_at: datetime | None = None
    retest_barcode: str | None = None
    result: str | None = None
    resulted_at: datetime | None = None
    closed_at: datetime | None = None
    note: str | None = None
    dirty: bool = False


@dataclass
class Wants:
    """What a batch names, collected before loading."""

    rounds: set[str] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    labs: set[str] = field(default_factory=set)
    tubes: set[str] = field(default_factory=set)
    boxes: set[str] = field(default_factory=set)
    received_boxes: set[str] = field(default_factory=set)
    resident_codes: set[str] = field(default_factory=set)
    id_numbers: set[tuple[str, str]] = field(default_factory=set)
    result_tubes: set[str] = field(default_factory=set)
    recall_tubes: set[str] = field(default_factory=set)


@dataclass
class State:
    """The in-memory copy of everything a batch may read or change."""

    rounds: dict[str, RoundInfo] = field(default_factory=dict)
    stations: dict[str, StationInfo] = field(default_factory=dict)
    stations_by_id: dict[int, StationInfo] = field(default_factory=dict)
    labs: dict[str, int] = field(default_factory=dict)
    tubes: dict[str, TubeRow] = field(default_factory=dict)
    boxes: dict[tuple[int, str], BoxRow] = field(default_factory=dict)
    by_code: dict[str, PersonInfo] = field(default_factory=dict)
    by_document: dict[tuple[str, str], PersonInfo] = field(default_factory=dict)
    # (round id, "r<resident id>" or "d<id number>") of everyone already swabbed.
    sampled: set[tuple[int, str]] = field(default_factory=set)
    members: dict[str, list[Member]] = field(default_factory=dict)
    recalls: dict[tuple[str, int], RecallRow] = field(default_factory=dict)
    new_swabs: list[dict[str, Any]] = field(default_factory=list)
    new_handovers: list[tuple[dict[str, Any], list[tuple[int, str]]]] = field(default_factory=list)


def one_of(conn: Connection, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """Return `column IN values` bound as ONE parameter (a JSON or array value).

    An expanding `IN (?, ?, …)` re-renders its SQL for every list length; one parameter
    keeps the statement cached and the batch's lookups cheap.
    """
    items = list(values)
    if conn.dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(literal(items, ARRAY(column.type))))
    listed: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(items)))
    return cast(ColumnElement[bool], column.in_(listed))


def table_of(model: type[Base]) -> Table:
    """Return a model's table, for Core statements on the hot path."""
    return cast(Table, model.__table__)


def take_writer_lock(conn: Connection) -> None:
    """On SQLite, become the single writer before reading, so decisions see the latest rows.

    pysqlite reads outside a transaction until the first write; a write that touches no row
    still opens the write transaction, and other writers wait on the busy timeout.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE rounds SET id = id WHERE 1 = 0"))


def _chunks(values: Iterable[Any], size: int = 5000) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load_state(conn: Connection, wants: Wants, *, round_ids: Iterable[int] = ()) -> State:
    """Load everything the batch names with one `IN` query per kind."""
    st = State()
    is_pg = conn.dialect.name == "postgresql"
    round_filter: ColumnElement[bool] = one_of(conn, Round.code, wants.rounds)
    ids = list(round_ids)
    if ids:
        round_filter = round_filter | one_of(conn, Round.id, ids)
    for r in conn.execute(select(Round.__table__).where(round_filter)):
        st.rounds[r.code] = RoundInfo(
            r.id,
            r.code,
            r.district_id,
            r.sealed_pooling,
            r.controlled_pool,
            r.precaution_pool,
            r.key_group_pool,
            {},
        )
    by_id = {r.id: r for r in st.rounds.values()}
    if by_id:
        for rid, area_id, zone in conn.execute(
            select(RoundArea.round_id, RoundArea.area_id, RoundArea.zone).where(
                one_of(conn, RoundArea.round_id, by_id)
            )
        ):
            by_id[rid].zones[area_id] = zone
    if wants.labs:
        lab_rows = conn.execute(select(Lab.code, Lab.id).where(one_of(conn, Lab.code, wants.labs)))
        st.labs = {code: lab_id for code, lab_id in lab_rows}
    _load_tubes(conn, st, one_of(conn, Tube.barcode, wants.tubes) if wants.tubes else None, is_pg)
    if wants.boxes and by_id:
        for b in conn.execute(
            select(table_of(Box)).where(
                one_of(conn, Box.round_id, by_id), one_of(conn, Box.code, wants.boxes)
            )
        ):
            st.boxes[(b.round_id, b.code)] = BoxRow(
                b.id,
                b.round_id,
                b.district_id,
                b.code,
                b.seal_number,
                b.tube_count,
                b.station_id,
                b.state,
                b.sealed_at,
                b.handed_over_at,
                b.lab_id,
                b.received_at,
            )
    received = [b.id for (_r, code), b in st.boxes.items() if code in wants.received_boxes and b.id]
    if received:
        _load_tubes(conn, st, one_of(conn, Tube.box_id, received), is_pg)
        box_ids = {b.id: b for b in st.boxes.values()}
        for t in sorted(st.tubes.values(), key=lambda t: t.id):
            if t.box_id in box_ids and t.barcode not in box_ids[t.box_id].tubes:
                box_ids[t.box_id].tubes.append(t.barcode)
    station_ids = {t.station_id for t in st.tubes.values() if t.station_id is not None}
    station_filter: ColumnElement[bool] = one_of(conn, Station.code, wants.stations)
    if station_ids:
        station_filter = station_filter | one_of(conn, Station.id, station_ids)
    if wants.stations or station_ids:
        for sid, code, site_id, rid, zone in conn.execute(
            select(Station.id, Station.code, Station.site_id, Station.round_id, Site.zone)
            .join(Site, Site.id == Station.site_id)
            .where(station_filter)
        ):
            info = StationInfo(sid, code, site_id, rid, zone)
            st.stations[code] = info
            st.stations_by_id[sid] = info
    _load_people(conn, st, wants, list(by_id))
    _load_members_and_recalls(conn, st, wants)
    return st


def _load_tubes(conn: Connection, st: State, where: Any, lock: bool) -> None:
    if where is None:
        return
    stmt = select(table_of(Tube)).where(where).order_by(Tube.id)
    if lock:
        # Concurrent batches touching the same tubes queue here instead of deciding on
        # the same counts; ordering by id keeps two batches from deadlocking.
        stmt = stmt.with_for_update()
    for t in conn.execute(stmt):
        if t.barcode in st.tubes:
            continue
        st.tubes[t.barcode] = TubeRow(
            t.id,
            t.barcode,
            t.round_id,
            t.district_id,
            t.capacity,
            t.state,
            t.member_count,
            t.station_id,
            t.household_id,
            t.opened_at,
            t.closed_at,
            t.close_reason,
            t.box_id,
            t.received_at,
            t.condition,
            t.result,
            t.ct,
            t.resulted_at,
            loaded_count=t.member_count,
        )


def _load_people(conn: Connection, st: State, wants: Wants, round_ids: list[int]) -> None:
    cols = (
        Resident.id,
        Resident.resident_code,
        Resident.id_type,
        Resident.id_number,
        Resident.household_id,
        Resident.building_id,
        Resident.key_group,
        Resident.compound_id,
        Resident.community_id,
        Resident.street_id,
        Resident.district_id,
    )
    rows: list[Any] = []
    for part in _chunks(wants.resident_codes):
        rows += conn.execute(select(*cols).where(one_of(conn, Resident.resident_code, part))).all()
    by_type: dict[str, set[str]] = defaultdict(set)
    for id_type, number in wants.id_numbers:
        by_type[id_type].add(number)
    for id_type, numbers_of_type in by_type.items():
        # (id_type, id_number) is the unique index: name both so it is used.
        for part in _chunks(numbers_of_type):
            rows += conn.execute(
                select(*cols).where(
                    Resident.id_type == id_type, one_of(conn, Resident.id_number, part)
                )
            ).all()
    for r in rows:
        info = PersonInfo(
            r.id,
            r.household_id,
            r.building_id,
            bool(r.key_group),
            (r.building_id, r.compound_id, r.community_id, r.street_id, r.district_id),
        )
        st.by_code[r.resident_code] = info
        st.by_document[(r.id_type, r.id_number)] = info
    if not round_ids:
        return
    resident_ids = {p.id for p in st.by_code.values()}
    numbers = {n for _t, n in wants.id_numbers}
    for rid in round_ids:
        for part in _chunks(resident_ids):
            for (resident_id,) in conn.execute(
                select(Swab.resident_id)
                .where(Swab.round_id == rid, one_of(conn, Swab.resident_id, part))
                .distinct()
            ):
                st.sampled.add((rid, f"r{resident_id}"))
        for part in _chunks(numbers):
            for (number,) in conn.execute(
                select(Swab.id_number)
                .where(
                    Swab.round_id == rid,
                    one_of(conn, Swab.id_number, part),
                    Swab.resident_id.is_(None),
                )
                .distinct()
            ):
                st.sampled.add((rid, f"d{number}"))


def _load_members_and_recalls(conn: Connection, st: State, wants: Wants) -> None:
    by_id = {t.id: t.barcode for t in st.tubes.values()}
    result_ids = [st.tubes[b].id for b in wants.result_tubes if b in st.tubes]
    for b in wants.result_tubes:
        if b in st.tubes:
            st.members[b] = []
    for part in _chunks(result_ids):
        for tube_id, position, resident_id, swab_id in conn.execute(
            select(Swab.tube_id, Swab.position, Swab.resident_id, Swab.id)
            .where(one_of(conn, Swab.tube_id, part))
            .order_by(Swab.tube_id, Swab.position)
        ):
            barcode = by_id[tube_id]
            st.members.setdefault(barcode, []).append(
                Member(barcode, position, resident_id, swab_id)
            )
    recall_ids = [st.tubes[b].id for b in wants.recall_tubes if b in st.tubes]
    for part in _chunks(recall_ids):
        for rec in conn.execute(
            select(table_of(Recall), Swab.position)
            .join(Swab, Swab.id == Recall.swab_id)
            .where(one_of(conn, Recall.tube_id, part))
        ):
            position = rec.position
            barcode = by_id[rec.tube_id]
            st.recalls[(barcode, position)] = RecallRow(
                rec.id,
                rec.round_id,
                rec.district_id,
                barcode,
                position,
                rec.resident_id,
                rec.reason,
                rec.state,
                rec.opened_at,
                rec.due_at,
                rec.notified_at,
                rec.isolated_at,
                rec.resampled_at,
                rec.retest_barcode,
                rec.result,
                rec.resulted_at,
                rec.closed_at,
                rec.note,
            )


class LedgerConflict(RuntimeError):
    """A tube changed under a batch despite the lock; the transaction must not commit."""


def write_state(conn: Connection, st: State) -> None:
    """Write the batch's new and changed projection rows, a few statements per kind."""
    _write_boxes(conn, st)
    _write_tubes(conn, st)
    if st.new_swabs:
        for row in st.new_swabs:
            row["tube_id"] = st.tubes[row.pop("tube")].id
        insert_rows(conn, table_of(Swab), st.new_swabs)
    _write_handovers(conn, st)
    _write_recalls(conn, st)


def _write_boxes(conn: Connection, st: State) -> None:
    new = [b for b in st.boxes.values() if b.id is None]
    if new:
        conn.execute(
            insert(table_of(Box)),
            [
                {
                    "round_id": b.round_id,
                    "district_id": b.district_id,
                    "code": b.code,
                    "seal_number": b.seal_number,
                    "tube_count": b.tube_count,
                    "station_id": b.station_id,
                    "state": b.state,
                    "sealed_at": b.sealed_at,
                    "handed_over_at": b.handed_over_at,
                    "lab_id": b.lab_id,
                    "received_at": b.received_at,
                }
                for b in new
            ],
        )
        codes_by_round: dict[int, list[str]] = defaultdict(list)
        for b in new:
            codes_by_round[b.round_id].append(b.code)
        for rid, codes in codes_by_round.items():
            for part in _chunks(codes):
                for box_id, code in conn.execute(
                    select(Box.id, Box.code).where(
                        Box.round_id == rid, one_of(conn, Box.code, part)
                    )
                ):
                    st.boxes[(rid, code)].id = box_id
    changed = [b for b in st.boxes.values() if b.dirty and b not in new]
    if changed:
        conn.execute(
            update(table_of(Box))
            .where(table_of(Box).c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                handed_over_at=bindparam("handed_over_at"),
                lab_id=bindparam("lab_id"),
                received_at=bindparam("received_at"),
            ),
            [
                {
                    "b_id": b.id,
                    "state": b.state,
                    "handed_over_at": b.handed_over_at,
                    "lab_id": b.lab_id,
                    "received_at": b.received_at,
                }
                for b in changed
            ],
        )


def _write_tubes(conn: Connection, st: State) -> None:
    table = table_of(Tube)
    for t in st.tubes.values():
        if t.dirty and t.box_key is not None:
            t.box_id = st.boxes[t.box_key].id
    names = [n for n in TUBE_FIELDS if n != "member_count"]
    fields: dict[str, Any] = {n: bindparam(n) for n in names}
    filled = [t for t in st.tubes.values() if t.member_count != t.loaded_count]
    if filled:
        # The batched form of `count = count + n WHERE count + n <= capacity`: each row
        # moves only from the count this batch read, so no position is handed out twice.
        result = conn.execute(
            update(table)
            .where(
                table.c.id == bindparam("t_id"),
                table.c.member_count == bindparam("before"),
                (table.c.capacity == 0)
                | (table.c.member_count + bindparam("n") <= table.c.capacity),
            )
            .values(member_count=table.c.member_count + bindparam("n"), **fields),
            [
                {
                    "t_id": t.id,
                    "before": t.loaded_count,
                    "n": t.member_count - t.loaded_count,
                    **{n: getattr(t, n) for n in names},
                }
                for t in filled
            ],
        )
        if result.rowcount != len(filled):
            raise LedgerConflict("a tube's fill changed while the batch was deciding")
    changed = [t for t in st.tubes.values() if t.dirty and t.member_count == t.loaded_count]
    if changed:
        conn.execute(
            update(table).where(table.c.id == bindparam("t_id")).values(**fields),
            [{"t_id": t.id, **{n: getattr(t, n) for n in names}} for t in changed],
        )


def _write_handovers(conn: Connection, st: State) -> None:
    if not st.new_handovers:
        return
    conn.execute(insert(table_of(Handover)), [row for row, _boxes in st.new_handovers])
    event_ids = [row["event_id"] for row, _boxes in st.new_handovers]
    ids: dict[str, int] = {}
    for part in _chunks(event_ids):
        for event_id, handover_id in conn.execute(
            select(Handover.event_id, Handover.id).where(one_of(conn, Handover.event_id, part))
        ):
            ids[event_id] = handover_id
    conn.execute(
        insert(table_of(HandoverBox)),
        [
            {"handover_id": ids[row["event_id"]], "box_id": st.boxes[key].id}
            for row, keys in st.new_handovers
            for key in keys
        ],
    )


def _write_recalls(conn: Connection, st: State) -> None:
    new = [r for r in st.recalls.values() if r.id is None]
    if new:
        tube_ids = {st.tubes[r.tube].id for r in new}
        swab_ids: dict[tuple[int, int], int] = {}
        for part in _chunks(tube_ids):
            for swab_id, tube_id, position in conn.execute(
                select(Swab.id, Swab.tube_id, Swab.position).where(one_of(conn, Swab.tube_id, part))
            ):
                swab_ids[(tube_id, position)] = swab_id
        rows = []
        for r in new:
            tube_id = st.tubes[r.tube].id
            rows.append(
                {
                    "round_id": r.round_id,
                    "district_id": r.district_id,
                    "tube_id": tube_id,
                    "swab_id": swab_ids[(tube_id, r.position)],
                    "resident_id": r.resident_id,
                    "reason": r.reason,
                    "opened_at": r.opened_at,
                    "due_at": r.due_at,
                    **{n: getattr(r, n) for n in RECALL_FIELDS},
                }
            )
        conn.execute(insert(table_of(Recall)), rows)
    changed = [r for r in st.recalls.values() if r.dirty and r.id is not None]
    if changed:
        table = table_of(Recall)
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("r_id"))
            .values(**{n: bindparam(n) for n in RECALL_FIELDS}),
            [{"r_id": r.id, **{n: getattr(r, n) for n in RECALL_FIELDS}} for r in changed],
        )
