"""swabs without the (round_id, building_id) index

Nothing reads swabs by building (coverage goes through the resident, by the
(round_id, resident_id) index), and every index on `swabs` is paid for by each swab taken.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_swabs_round_id_building_id", table_name="swabs")


def downgrade() -> None:
    op.create_index("ix_swabs_round_id_building_id", "swabs", ["round_id", "building_id"])
