"""tubes by station, for a field device's context

`GET /api/v1/field/context` lists the tubes used at the device's site; without this index
that read scans every tube of the round. Partial: issued tubes have no station yet, and a
tube's station is set once, when its first swab opens it, so the capture path pays for it
once per tube, not per swab.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tubes_station_id",
        "tubes",
        ["station_id"],
        sqlite_where=sa.text("station_id IS NOT NULL"),
        postgresql_where=sa.text("station_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tubes_station_id", table_name="tubes")
