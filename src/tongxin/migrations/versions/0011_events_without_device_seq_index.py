"""events without the (device, seq) index

No query reads events by device and seq: idempotency goes by the event id, and lists go by
round and arrival number. Every capture paid for the index all the same, and on a page of
its own per active device, so a commit of a city-wide batch dirtied about one page of it per
station (docs/decisions/0014).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_device_seq", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_device_seq", "events", ["device", "seq"])
