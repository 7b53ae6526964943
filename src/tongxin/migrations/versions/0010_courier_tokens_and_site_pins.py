"""courier device tokens and per-site handover PINs

A courier's device token is scoped to a round and neither a site nor a lab
(`device_tokens.courier`). A site's handover PIN (`sites.handover_pin_hash`, argon2) is
what the courier's device sends with a pick-up, so the site's confirmation is checked by
the server instead of claimed by the courier (decision 0009).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_tokens") as batch:
        batch.add_column(
            sa.Column("courier", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("handover_pin_hash", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("handover_pin_hash")
    with op.batch_alter_table("device_tokens") as batch:
        batch.drop_column("courier")
