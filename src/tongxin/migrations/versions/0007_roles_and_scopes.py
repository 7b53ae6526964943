"""roles and scopes: a user's lab scope

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("lab_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_users_lab_id_labs"), "labs", ["lab_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_lab_id_labs"), type_="foreignkey")
        batch.drop_column("lab_id")
