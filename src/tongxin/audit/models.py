"""The audit log table: one row per state-changing action or full personal-data read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime


class AuditEntry(Base):
    """One link of the chain; `number` is the chain order, given out under a lock (no gaps)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # A jurisdiction filter is one equality on a copied ancestor id (decision 0001),
        # and the page walks newest first by number.
        Index("ix_audit_log_district_id_number", "district_id", "number"),
        Index("ix_audit_log_street_id_number", "street_id", "number"),
        Index("ix_audit_log_community_id_number", "community_id", "number"),
        Index("ix_audit_log_area_id_number", "area_id", "number"),
        Index("ix_audit_log_actor_number", "actor", "number"),
        Index("ix_audit_log_action_number", "action", "number"),
        Index("ix_audit_log_target_type_target_id", "target_type", "target_id"),
        Index("ix_audit_log_at", "at"),
    )

    # Not autoincrement: a sequence skips numbers when a transaction rolls back, and a gap
    # must mean a deleted entry.
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(80))
    # No foreign key: the log outlives what it describes and must never block a delete.
    area_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    street_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
