"""hotlines: hotlines, operators, routing rules, cases, timeline, linked work, follow-ups

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hotlines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("number", sa.String(30), nullable=False),
        sa.Column("organisation", sa.String(100), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("hours", sa.String(60), nullable=False),
        sa.UniqueConstraint("code", name="uq_hotlines_code"),
    )
    op.create_index("ix_hotlines_jurisdiction_id", "hotlines", ["jurisdiction_id"])
    op.create_table(
        "hotline_operators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hotline_id", sa.Integer(), sa.ForeignKey("hotlines.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.UniqueConstraint("hotline_id", "user_id", name="uq_hotline_operators_hotline_id"),
    )
    op.create_index("ix_hotline_operators_user_id", "hotline_operators", ["user_id"])
    op.create_table(
        "hotline_routes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("desk", sa.String(100), nullable=False),
        sa.Column("responsible_area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
    )
    op.create_index("ix_hotline_routes_area_id", "hotline_routes", ["area_id"])
    op.create_table(
        "hotline_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(24), nullable=False),
        sa.Column("client_request_id", sa.String(64), nullable=True),
        sa.Column("hotline_id", sa.Integer(), sa.ForeignKey("hotlines.id"), nullable=False),
        sa.Column("caller_phone", sa.String(20), nullable=False),
        sa.Column("caller_name", sa.String(60), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("resident_id", sa.Integer(), sa.ForeignKey("residents.id"), nullable=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("suggested_category", sa.String(16), nullable=False),
        sa.Column("suggested_urgency", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("responsible_area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("desk", sa.String(100), nullable=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.UniqueConstraint("code", name="uq_hotline_cases_code"),
        sa.UniqueConstraint("client_request_id", name="uq_hotline_cases_client_request_id"),
    )
    for name, columns in (
        ("ix_hotline_cases_open_due_at", ["open_due_at", "state"]),
        ("ix_hotline_cases_community_id_open_due_at", ["community_id", "open_due_at", "state"]),
        ("ix_hotline_cases_street_id_open_due_at", ["street_id", "open_due_at", "state"]),
        ("ix_hotline_cases_district_id_open_due_at", ["district_id", "open_due_at", "state"]),
        ("ix_hotline_cases_hotline_id_open_due_at", ["hotline_id", "open_due_at", "state"]),
        ("ix_hotline_cases_category_open_due_at", ["category", "open_due_at", "state"]),
        ("ix_hotline_cases_state_id", ["state", "id"]),
        ("ix_hotline_cases_caller_phone_state", ["caller_phone", "state"]),
        ("ix_hotline_cases_operator_id_open_due_at", ["operator_id", "open_due_at", "state"]),
        ("ix_hotline_cases_opened_at", ["opened_at"]),
    ):
        op.create_index(name, "hotline_cases", columns)
    op.create_table(
        "hotline_timeline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("hotline_cases.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state_from", sa.String(16), nullable=True),
        sa.Column("state_to", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_request_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("client_request_id", name="uq_hotline_timeline_client_request_id"),
    )
    op.create_index("ix_hotline_timeline_case_id_id", "hotline_timeline", ["case_id", "id"])
    op.create_table(
        "hotline_linked_work",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("hotline_cases.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_ref", sa.String(64), nullable=True),
    )
    op.create_index("ix_hotline_linked_work_case_id", "hotline_linked_work", ["case_id"])
    op.create_index("ix_hotline_linked_work_kind_status", "hotline_linked_work", ["kind", "status"])
    op.create_table(
        "hotline_follow_ups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("hotline_cases.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(60), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_hotline_follow_ups_case_id", "hotline_follow_ups", ["case_id"])


def downgrade() -> None:
    for table in (
        "hotline_follow_ups",
        "hotline_linked_work",
        "hotline_timeline",
        "hotline_cases",
        "hotline_routes",
        "hotline_operators",
        "hotlines",
    ):
        op.drop_table(table)
