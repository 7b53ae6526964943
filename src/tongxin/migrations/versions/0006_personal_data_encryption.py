"""personal data encryption

ID numbers of residents and walk-in swabs are stored sealed (AES-GCM, "v1:<kid>:...") with a
keyed hash next to them for exact lookups; the unique (id_type, id_number) becomes
(id_type, id_number_hash) and the walk-in index moves to the hash. Rows already present are
sealed here with the key ring of the engine's settings (the personal fields of the event
log's payloads too), so an upgrade of a populated database needs the keys configured; an
empty one does not.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_SEALED = 160


def _rows(conn: Any, sql: str) -> Iterator[list[Any]]:
    last = 0
    while True:
        rows = conn.execute(sa.text(sql), {"last": last, "n": _BATCH}).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _seal_existing(conn: Any) -> None:
    from tongxin.privacy.crypto import is_sealed
    from tongxin.privacy.keys import ring_of
    from tongxin.privacy.service import seal_payload

    for table in ("residents", "swabs"):
        query = (
            f"SELECT id, id_number FROM {table} WHERE id > :last AND id_number IS NOT NULL "
            "ORDER BY id LIMIT :n"
        )
        for rows in _rows(conn, query):
            todo = [(i, n) for i, n in rows if not is_sealed(n)]
            if todo:
                r = ring_of(conn)
                conn.execute(
                    sa.text(
                        f"UPDATE {table} SET id_number = :enc, id_number_hash = :h WHERE id = :i"
                    ),
                    [
                        {
                            "i": i,
                            "enc": r.encrypt(n, column=f"{table}.id_number"),
                            "h": r.lookup_hash(n),
                        }
                        for i, n in todo
                    ],
                )
    events = sa.table("events", sa.column("number", sa.Integer), sa.column("payload", sa.JSON))
    query = "SELECT number FROM events WHERE number > :last ORDER BY number LIMIT :n"
    for rows in _rows(conn, query):
        ids = [int(r[0]) for r in rows]
        changed = []
        for i, payload in conn.execute(
            sa.select(events.c.number, events.c.payload).where(events.c.number.in_(ids))
        ):
            sealed = seal_payload(ring_of(conn), payload) if _has_plain_number(payload) else None
            if sealed is not None:
                changed.append({"i": i, "p": sealed})
        if changed:
            conn.execute(
                events.update()
                .where(events.c.number == sa.bindparam("i"))
                .values(payload=sa.bindparam("p")),
                changed,
            )


def _has_plain_number(payload: Any) -> bool:
    from tongxin.privacy.service import payload_tokens

    person = payload.get("person") if isinstance(payload, dict) else None
    number = person.get("id_number") if isinstance(person, dict) else None
    unparsed = payload.get("unparsed") if isinstance(payload, dict) else None
    has_text = isinstance(number, str) or isinstance(unparsed, str)
    return has_text and not payload_tokens(payload)


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_hash", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "id_number",
            existing_type=sa.String(length=32),
            type_=sa.String(length=_SEALED),
            existing_nullable=False,
        )
    with op.batch_alter_table("swabs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_hash", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "id_number",
            existing_type=sa.String(length=32),
            type_=sa.String(length=_SEALED),
            existing_nullable=True,
        )

    _seal_existing(op.get_bind())

    has_hash = sa.text("id_number_hash IS NOT NULL")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("id_number_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_residents_id_type"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_residents_id_type_id_number_hash", ["id_type", "id_number_hash"]
        )
    with op.batch_alter_table("swabs", schema=None) as batch_op:
        batch_op.drop_index("ix_swabs_round_id_id_number")
        batch_op.create_index(
            "ix_swabs_round_id_id_number_hash",
            ["round_id", "id_number_hash"],
            unique=False,
            sqlite_where=has_hash,
            postgresql_where=has_hash,
        )


def downgrade() -> None:
    # Sealed values are not opened again here: downgrading past 0006 is for empty databases.
    has_number = sa.text("id_number IS NOT NULL")
    with op.batch_alter_table("swabs", schema=None) as batch_op:
        batch_op.drop_index("ix_swabs_round_id_id_number_hash")
        batch_op.create_index(
            "ix_swabs_round_id_id_number",
            ["round_id", "id_number"],
            sqlite_where=has_number,
            postgresql_where=has_number,
        )
        batch_op.alter_column(
            "id_number",
            existing_type=sa.String(length=_SEALED),
            type_=sa.String(length=32),
            existing_nullable=True,
        )
        batch_op.drop_column("id_number_hash")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_residents_id_type_id_number_hash", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_residents_id_type"), ["id_type", "id_number"]
        )
        batch_op.alter_column(
            "id_number",
            existing_type=sa.String(length=_SEALED),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
        batch_op.drop_column("id_number_hash")
