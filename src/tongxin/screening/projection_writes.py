"""Write a ledger batch's projection changes back, a few executemany statements per kind.

New swabs, boxes, handovers and recalls are inserted; changed tubes, boxes and recalls are
updated. A tube's fill is written with a conditional update that cannot overfill it even if
the locking in `projections.load_state` were bypassed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from tongxin.privacy.service import add_id_hashes
from tongxin.screening.bulk import execute_rows, insert_rows
from tongxin.screening.ledger_state import RECALL_FIELDS, TUBE_FIELDS, State
from tongxin.screening.models import Box, Handover, HandoverBox, Recall, Swab, Tube
from tongxin.screening.projections import chunks, one_of, prepared, table_of


class LedgerConflict(RuntimeError):
    """A tube changed under a batch despite the lock; the transaction must not commit."""


def write_state(conn: Connection, st: State) -> None:
    """Write the batch's new and changed projection rows, a few statements per kind."""
    _write_boxes(conn, st)
    _write_tubes(conn, st)
    if st.new_swabs:
        for row in st.new_swabs:
            row["tube_id"] = st.tubes[row.pop("tube")].id
        add_id_hashes(conn, st.new_swabs)  # a walk-in's number is sealed by insert_rows
        insert_rows(conn, table_of(Swab), st.new_swabs)
    _write_handovers(conn, st)
    _write_recalls(conn, st)


def _write_boxes(conn: Connection, st: State) -> None:
    new = [b for b in st.boxes.values() if b.id is None]
    # Taken before the insert gives the new boxes their ids. (A membership test against
    # `new` compared dataclasses field by field: quadratic in the boxes a batch seals.)
    changed = [b for b in st.boxes.values() if b.dirty and b.id is not None]
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
            for part in chunks(codes):
                for box_id, code in conn.execute(
                    select(Box.id, Box.code).where(
                        Box.round_id == rid, one_of(conn, Box.code, part)
                    )
                ):
                    st.boxes[(rid, code)].id = box_id
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


_TUBE_WRITES = [n for n in TUBE_FIELDS if n != "member_count"]


def _fill_tubes_stmt(_pg: bool) -> Any:
    # The batched form of `count = count + n WHERE count + n <= capacity`: each row moves
    # only from the count this batch read, so no position is handed out twice.
    table = table_of(Tube)
    return (
        update(table)
        .where(
            table.c.id == bindparam("t_id"),
            table.c.member_count == bindparam("before"),
            (table.c.capacity == 0) | (table.c.member_count + bindparam("n") <= table.c.capacity),
        )
        .values(
            member_count=table.c.member_count + bindparam("n"),
            **{n: bindparam(n) for n in _TUBE_WRITES},
        )
    )


def _change_tubes_stmt(_pg: bool) -> Any:
    table = table_of(Tube)
    return (
        update(table)
        .where(table.c.id == bindparam("t_id"))
        .values(**{n: bindparam(n) for n in _TUBE_WRITES})
    )


def _write_tubes(conn: Connection, st: State) -> None:
    for t in st.tubes.values():
        if t.dirty and t.box_key is not None:
            t.box_id = st.boxes[t.box_key].id
    filled = [t for t in st.tubes.values() if t.member_count != t.loaded_count]
    if filled:
        matched = execute_rows(
            conn,
            prepared(conn, "fill-tubes", _fill_tubes_stmt),
            [
                {
                    "t_id": t.id,
                    "before": t.loaded_count,
                    "n": t.member_count - t.loaded_count,
                    **{n: getattr(t, n) for n in _TUBE_WRITES},
                }
                for t in filled
            ],
        )
        if matched != len(filled):
            raise LedgerConflict("a tube's fill changed while the batch was deciding")
    changed = [t for t in st.tubes.values() if t.dirty and t.member_count == t.loaded_count]
    if changed:
        execute_rows(
            conn,
            prepared(conn, "change-tubes", _change_tubes_stmt),
            [{"t_id": t.id, **{n: getattr(t, n) for n in _TUBE_WRITES}} for t in changed],
        )


def _write_handovers(conn: Connection, st: State) -> None:
    if not st.new_handovers:
        return
    conn.execute(insert(table_of(Handover)), [row for row, _boxes in st.new_handovers])
    event_ids = [row["event_id"] for row, _boxes in st.new_handovers]
    ids: dict[str, int] = {}
    for part in chunks(event_ids):
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
        for part in chunks(tube_ids):
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
