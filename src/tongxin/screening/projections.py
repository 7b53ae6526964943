"""Load the projection state one ledger batch touches, with one query per kind of row.

`load_state` reads every round, station, tube, box, resident, earlier swab and recall the
batch names, each list bound as one parameter. On PostgreSQL the tubes are locked `FOR
UPDATE` (in id order); on SQLite the batch first takes the single writer lock. The ledger
then decides each event against this copy, and `projection_writes.write_state` stores it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from tongxin.db import Base, use_writer_cache
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


def any_of(pg: bool, column: Any, name: str) -> ColumnElement[bool]:
    """Return `column IN :name` for a prepared statement; bind the list with `listed`."""
    if pg:
        return cast(ColumnElement[bool], column == any_(bindparam(name, type_=ARRAY(column.type))))
    values: Any = select(literal_column("value")).select_from(func.json_each(bindparam(name)))
    return cast(ColumnElement[bool], column.in_(values))


def listed(conn: Connection, values: Iterable[Any]) -> Any:
    """Bind a list for `any_of`: an array on PostgreSQL, a JSON text on SQLite."""
    items = list(values)
    return items if conn.dialect.name == "postgresql" else json.dumps(items)


_PREPARED: dict[tuple[str, str], Any] = {}


def prepared(conn: Connection, name: str, build: Callable[[bool], Any]) -> Any:
    """Return the hot-path statement `name`, built once per dialect and then reused.

    Building a statement and computing its cache key cost more than running it on a small
    batch; a reused statement object keeps its key, so only the execution is paid for.
    `build(pg)` gets whether the dialect is PostgreSQL and must take values as bindparams.
    """
    key = (conn.dialect.name, name)
    stmt = _PREPARED.get(key)
    if stmt is None:
        stmt = _PREPARED[key] = build(conn.dialect.name == "postgresql")
    return stmt


def table_of(model: type[Base]) -> Table:
    """Return a model's table, for Core statements on the hot path."""
    return cast(Table, model.__table__)


def take_writer_lock(conn: Connection) -> None:
    """On SQLite, become the single writer before reading, so decisions see the latest rows.

    pysqlite reads outside a transaction until the first write; a write that touches no row
    still opens the write transaction, and other writers wait on the busy timeout.
    """
    if conn.dialect.name == "sqlite":
        use_writer_cache(conn)
        conn.exec_driver_sql("UPDATE rounds SET id = id WHERE 1 = 0")


def chunks(values: Iterable[Any], size: int = 5000) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _rounds_stmt(pg: bool) -> Any:
    return (
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
        .where(any_of(pg, Round.code, "codes") | any_of(pg, Round.id, "ids"))
    )


def _stations_stmt(pg: bool) -> Any:
    return (
        select(Station.id, Station.code, Station.site_id, Station.round_id, Site.zone)
        .join(Site, Site.id == Station.site_id)
        .where(any_of(pg, Station.code, "codes") | any_of(pg, Station.id, "ids"))
    )


def _boxes_stmt(pg: bool) -> Any:
    return select(table_of(Box)).where(
        any_of(pg, Box.round_id, "rounds"), any_of(pg, Box.code, "codes")
    )


def load_state(conn: Connection, wants: Wants, *, round_ids: Iterable[int] = ()) -> State:
    """Load everything the batch names with one `IN` query per kind."""
    st = State()
    is_pg = conn.dialect.name == "postgresql"
    rows = conn.execute(
        prepared(conn, "rounds", _rounds_stmt),
        {"codes": listed(conn, wants.rounds), "ids": listed(conn, round_ids)},
    ).all()
    for rid, code, district_id, sealed, controlled, precaution, key_group, area, zone in rows:
        info = st.rounds.get(code)
        if info is None:
            info = st.rounds[code] = RoundInfo(
                rid, code, district_id, sealed, controlled, precaution, key_group, {}
            )
        if area is not None:
            info.zones[area] = zone
    by_id = {r.id: r for r in st.rounds.values()}
    if wants.labs:
        lab_rows = conn.execute(
            prepared(
                conn,
                "labs",
                lambda pg: select(Lab.code, Lab.id).where(any_of(pg, Lab.code, "codes")),
            ),
            {"codes": listed(conn, wants.labs)},
        )
        st.labs = {code: lab_id for code, lab_id in lab_rows.all()}
    if wants.tubes:
        _load_tubes(conn, st, "barcode", wants.tubes, is_pg)
    if wants.boxes and by_id:
        params = {"rounds": listed(conn, by_id), "codes": listed(conn, wants.boxes)}
        for b in conn.execute(prepared(conn, "boxes", _boxes_stmt), params):
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
        _load_tubes(conn, st, "box_id", received, is_pg)
        box_ids = {b.id: b for b in st.boxes.values()}
        for t in sorted(st.tubes.values(), key=lambda t: t.id):
            if t.box_id in box_ids and t.barcode not in box_ids[t.box_id].tubes:
                box_ids[t.box_id].tubes.append(t.barcode)
    station_ids = {t.station_id for t in st.tubes.values() if t.station_id is not None}
    station_ids.update(b.station_id for b in st.boxes.values() if b.station_id is not None)
    if wants.stations or station_ids:
        params = {"codes": listed(conn, wants.stations), "ids": listed(conn, station_ids)}
        for sid, code, site_id, rid, zone in conn.execute(
            prepared(conn, "stations", _stations_stmt), params
        ).all():
            station = StationInfo(sid, code, site_id, rid, zone)
            st.stations[code] = station
            st.stations_by_id[sid] = station
    _load_people(conn, st, wants, list(by_id))
    _load_members_and_recalls(conn, st, wants)
    return st


# TubeRow's constructor order: identity columns, then the fields a batch may change.
_TUBE_COLUMNS = ("id", "barcode", "round_id", "district_id", "capacity", *TUBE_FIELDS)


def _tubes_stmt(by: str, lock: bool) -> Callable[[bool], Any]:
    def build(pg: bool) -> Any:
        table = table_of(Tube)
        stmt = (
            select(*(table.c[name] for name in _TUBE_COLUMNS))
            .where(any_of(pg, table.c[by], "keys"))
            .order_by(Tube.id)
        )
        # Concurrent batches touching the same tubes queue here instead of deciding on
        # the same counts; ordering by id keeps two batches from deadlocking.
        return stmt.with_for_update() if lock else stmt

    return build


def _load_tubes(conn: Connection, st: State, by: str, keys: Iterable[Any], lock: bool) -> None:
    stmt = prepared(conn, f"tubes-by-{by}-{lock}", _tubes_stmt(by, lock))
    for part in chunks(keys):
        # `all()` fetches in one call; iterating the result would fetch row by row.
        for row in conn.execute(stmt, {"keys": listed(conn, part)}).all():
            if row[1] not in st.tubes:
                tube = TubeRow(*row)
                tube.loaded_count = tube.member_count
                st.tubes[row[1]] = tube


_PERSON_COLUMNS: tuple[Any, ...] = (
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
)


def _people_stmt(by_document: bool, in_round: bool) -> Callable[[bool], Any]:
    def build(pg: bool) -> Any:
        cols = list(_PERSON_COLUMNS)
        if in_round:
            swabbed = select(Swab.id).where(
                Swab.round_id == bindparam("round_id"), Swab.resident_id == Resident.id
            )
            cols.append(swabbed.exists().label("swabbed"))
        where: ColumnElement[bool]
        if by_document:
            # (id_type, id_number_hash) is the unique index: name both so it is used.
            where = (Resident.id_type == bindparam("id_type")) & any_of(
                pg, Resident.id_number_hash, "keys"
            )
        else:
            where = any_of(pg, Resident.resident_code, "keys")
        return select(*cols).where(where)

    return build


def _load_people(conn: Connection, st: State, wants: Wants, round_ids: list[int]) -> None:
    # With one round (the usual batch) whether each person was already swabbed comes with
    # the person, from the (round_id, resident_id) index, instead of a second query.
    single = round_ids[0] if len(round_ids) == 1 else None
    extra = {"round_id": single} if single is not None else {}
    rows: list[Any] = []
    if wants.resident_codes:
        stmt = prepared(conn, f"people-code-{single is not None}", _people_stmt(False, bool(extra)))
        for part in chunks(wants.resident_codes):
            rows += conn.execute(stmt, {"keys": listed(conn, part), **extra}).all()
    # ID numbers are stored sealed: people are found by the keyed hash of their number.
    number_of = hashed_numbers(conn, {n for _t, n in wants.id_numbers})
    by_type: dict[str, set[str]] = defaultdict(set)
    for id_type, number in wants.id_numbers:
        by_type[id_type].add(number_of.hash_of[number])
    if by_type:
        stmt = prepared(conn, f"people-doc-{single is not None}", _people_stmt(True, bool(extra)))
        for id_type, hashes_of_type in by_type.items():
            for part in chunks(hashes_of_type):
                params = {"id_type": id_type, "keys": listed(conn, part), **extra}
                rows += conn.execute(stmt, params).all()
    by_code = st.by_code
    by_document = st.by_document
    for r in rows:
        info = PersonInfo(r[0], r[4], r[5], bool(r[6]), (r[5], r[7], r[8], r[9], r[10]))
        by_code[r[1]] = info
        if r[3] is not None:
            document = number_of.number_of.get(r[3])
            if document is not None:
                by_document[(r[2], document)] = info
        if single is not None and r[11]:
            st.sampled.add((single, f"r{r[0]}"))
    if single is not None:
        resident_ids: set[int] = set()
    else:
        resident_ids = {p.id for p in st.by_code.values()}
    for rid in round_ids:
        for part in chunks(resident_ids):
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
    # Only the tubes a recall may open for: a negative result, most of them, needs no members.
    member_ids = [st.tubes[b].id for b in wants.member_tubes if b in st.tubes]
    for b in wants.member_tubes:
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
    for part in chunks(member_ids):
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
