"""Load the projection state one ledger batch touches, with one query per kind of row.

`load_state` reads every round, station, tube, box, resident, earlier swab and recall the
batch names, each list bound as one parameter. On PostgreSQL the tubes are locked `FOR
UPDATE` (in id order); on SQLite the batch first takes the single writer lock. The ledger
then decides each event against this copy, and `projection_writes.write_state` stores it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    any_,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from tongxin.db import Base
from tongxin.privacy.service import hashed_numbers
from tongxin.registry.models import Resident
from tongxin.screening.ledger_state import (
    TUBE_FIELDS,
    BoxRow,
    Member,
    PersonInfo,
    RecallRow,
    RoundInfo,
    State,
    StationInfo,
    TubeRow,
    Wants,
)
from tongxin.screening.models import (
    Box,
    Lab,
    Recall,
    Round,
    RoundArea,
    Site,
    Station,
    Swab,
    Tube,
)


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


def chunks(values: Iterable[Any], size: int = 5000) -> Iterable[list[Any]]:
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
    rows = conn.execute(
        select(
            Round.id,
            Round.code,
            Round.district_id,
            Round.sealed_pooling,
            Round.controlled_pool,
            Round.precaution_pool,
            Round.key_group_pool,
            RoundArea.area_id,
            RoundArea.zone,
        )
        .outerjoin(RoundArea, RoundArea.round_id == Round.id)
        .where(round_filter)
    )
    for r in rows:
        info = st.rounds.get(r.code)
        if info is None:
            info = st.rounds[r.code] = RoundInfo(
                r.id,
                r.code,
                r.district_id,
                r.sealed_pooling,
                r.controlled_pool,
                r.precaution_pool,
                r.key_group_pool,
                {},
            )
        if r.area_id is not None:
            info.zones[r.area_id] = r.zone
    by_id = {r.id: r for r in st.rounds.values()}
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
            station = StationInfo(sid, code, site_id, rid, zone)
            st.stations[code] = station
            st.stations_by_id[sid] = station
    _load_people(conn, st, wants, list(by_id))
    _load_members_and_recalls(conn, st, wants)
    return st


# TubeRow's leading fields, in order: rows become TubeRows without attribute lookups.
# TubeRow's constructor order: identity columns, then the fields a batch may change.
_TUBE_COLUMNS = ("id", "barcode", "round_id", "district_id", "capacity", *TUBE_FIELDS)


def _load_tubes(conn: Connection, st: State, where: Any, lock: bool) -> None:
    if where is None:
        return
    table = table_of(Tube)
    stmt = select(*(table.c[name] for name in _TUBE_COLUMNS)).where(where).order_by(Tube.id)
    if lock:
        # Concurrent batches touching the same tubes queue here instead of deciding on
        # the same counts; ordering by id keeps two batches from deadlocking.
        stmt = stmt.with_for_update()
    for row in conn.execute(stmt).tuples():
        if row[1] not in st.tubes:
            tube = TubeRow(*row)
            tube.loaded_count = tube.member_count
            st.tubes[row[1]] = tube


def _load_people(conn: Connection, st: State, wants: Wants, round_ids: list[int]) -> None:
    cols: list[Any] = [
        Resident.id,
        Resident.resident_code,
        Resident.id_type,
        Resident.id_number_hash,
        Resident.household_id,
        Resident.building_id,
        Resident.key_group,
        Resident.compound_id,
        Resident.community_id,
        Resident.street_id,
        Resident.district_id,
    ]
    # With one round (the usual batch) whether each person was already swabbed comes with
    # the person, from the (round_id, resident_id) index, instead of a second query.
    single = round_ids[0] if len(round_ids) == 1 else None
    if single is not None:
        swabbed = select(Swab.id).where(Swab.round_id == single, Swab.resident_id == Resident.id)
        cols.append(swabbed.exists().label("swabbed"))
    rows: list[Any] = []
    for part in chunks(wants.resident_codes):
        rows += conn.execute(select(*cols).where(one_of(conn, Resident.resident_code, part))).all()
    # ID numbers are stored sealed: people are found by the keyed hash of their number.
    number_of = hashed_numbers(conn, {n for _t, n in wants.id_numbers})
    by_type: dict[str, set[str]] = defaultdict(set)
    for id_type, number in wants.id_numbers:
        by_type[id_type].add(number_of.hash_of[number])
    for id_type, hashes_of_type in by_type.items():
        # (id_type, id_number_hash) is the unique index: name both so it is used.
        for part in chunks(hashes_of_type):
            rows += conn.execute(
                select(*cols).where(
                    Resident.id_type == id_type, one_of(conn, Resident.id_number_hash, part)
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
        document = number_of.number_of.get(r.id_number_hash)
        if document is not None:
            st.by_document[(r.id_type, document)] = info
        if single is not None and r.swabbed:
            st.sampled.add((single, f"r{r.id}"))
    resident_ids = {p.id for p in st.by_code.values()}
    for rid in round_ids:
        for part in chunks(resident_ids if single is None else ()):
            for (resident_id,) in conn.execute(
                select(Swab.resident_id)
                .where(Swab.round_id == rid, one_of(conn, Swab.resident_id, part))
                .distinct()
            ):
                st.sampled.add((rid, f"r{resident_id}"))
        for part in chunks(number_of.number_of):
            for (hashed,) in conn.execute(
                select(Swab.id_number_hash)
                .where(
                    Swab.round_id == rid,
                    one_of(conn, Swab.id_number_hash, part),
                    Swab.resident_id.is_(None),
                )
                .distinct()
            ):
                st.sampled.add((rid, f"d{number_of.number_of[hashed]}"))


def _load_members_and_recalls(conn: Connection, st: State, wants: Wants) -> None:
    by_id = {t.id: t.barcode for t in st.tubes.values()}
    result_ids = [st.tubes[b].id for b in wants.result_tubes if b in st.tubes]
    for b in wants.result_tubes:
        if b in st.tubes:
            st.members[b] = []
    result_boxes = [
        st.tubes[b].box_id
        for b in wants.result_tubes
        if b in st.tubes and st.tubes[b].box_id is not None
    ]
    for part in chunks(result_boxes):
        for box_id, lab_id in conn.execute(
            select(Box.id, Box.lab_id).where(one_of(conn, Box.id, part))
        ).tuples():
            st.box_labs[box_id] = lab_id
    for part in chunks(result_ids):
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
    for part in chunks(recall_ids):
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
