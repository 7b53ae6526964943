"""audit log

The hash-chained audit log (tongxin.audit). `number` is the chain order and is given out
under a lock by the application, not by a sequence, so a gap always means a deleted entry.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_audit_log_action_number": ["action", "number"],
    "ix_audit_log_actor_number": ["actor", "number"],
    "ix_audit_log_area_id_number": ["area_id", "number"],
    "ix_audit_log_at": ["at"],
    "ix_audit_log_community_id_number": ["community_id", "number"],
    "ix_audit_log_district_id_number": ["district_id", "number"],
    "ix_audit_log_street_id_number": ["street_id", "number"],
    "ix_audit_log_target_type_target_id": ["target_type", "target_id"],
}


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=80), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for name, columns in _INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for name in reversed(_INDEXES):
            batch_op.drop_index(name)
    op.drop_table("audit_log")
