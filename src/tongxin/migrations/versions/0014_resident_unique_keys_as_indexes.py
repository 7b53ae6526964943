"""residents: the two unique keys become unique indexes, so a bulk load can build them last

Revision ID: 0014
Revises: 0013

SQLite keeps a table's own UNIQUE constraint in the table and cannot drop it; a unique index
guards the same keys and can be dropped and created again (docs/decisions/0017). SQLite
rebuilds the table here (Alembic's batch mode).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = {
    "uq_residents_resident_code": ["resident_code"],
    "uq_residents_id_type_id_number_hash": ["id_type", "id_number_hash"],
}


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        for name in _KEYS:
            batch_op.drop_constraint(name, type_="unique")
    # After the table rebuild, so that SQLite's copy does not fill the indexes row by row.
    for name, columns in _KEYS.items():
        op.create_index(name, "residents", columns, unique=True)


def downgrade() -> None:
    for name in _KEYS:
        op.drop_index(name, table_name="residents")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        for name, columns in _KEYS.items():
            batch_op.create_unique_constraint(name, columns)
