"""capture hot path indexes

Every index on `swabs` is paid for by each swab the ledger takes. The event id is unique in
`events` already, so `swabs.event_id` loses its unique index; the walk-in id-number index only
holds rows that have a number.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 06:31:38.728404
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_NUMBER = sa.text("id_number IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("swabs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_swabs_event_id"), type_="unique")
        batch_op.drop_index("ix_swabs_round_id_id_number")
        batch_op.create_index(
            "ix_swabs_round_id_id_number",
            ["round_id", "id_number"],
            sqlite_where=_HAS_NUMBER,
            postgresql_where=_HAS_NUMBER,
        )


def downgrade() -> None:
    with op.batch_alter_table("swabs", schema=None) as batch_op:
        batch_op.drop_index("ix_swabs_round_id_id_number")
        batch_op.create_index("ix_swabs_round_id_id_number", ["round_id", "id_number"])
        batch_op.create_unique_constraint(batch_op.f("uq_swabs_event_id"), ["event_id"])
