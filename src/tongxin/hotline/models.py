"""Hotline tables: hotlines and their operators, routing rules, cases and what hangs off them.

A case copies the ancestor ids of the area it is routed to (district, street, community),
like residents do (decision 0001): a jurisdiction's board is one indexed equality. The
board's order is `open_due_at`: the deadline while the case is open, NULL once resolved, so
"open cases, overdue first" is one index range in deadline order (decision 0012).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime


class Hotline(Base):
    """A help line: its number, who runs it, the area it answers for and its hours."""

    __tablename__ = "hotlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(100))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    hours: Mapped[str] = mapped_column(String(60))


class HotlineOperator(Base):
    """A user who answers a hotline."""

    __tablename__ = "hotline_operators"
    __table_args__ = (UniqueConstraint("hotline_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotlines.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class HotlineRoute(Base):
    """A routing rule: cases of a category (or any) under an area go to a desk and area."""

    __tablename__ = "hotline_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(16))
    desk: Mapped[str] = mapped_column(String(100))
    responsible_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))


class HotlineCase(Base):
    """One call for help (工单) and everything needed to see where it stands."""

    __tablename__ = "hotline_cases"
    __table_args__ = (
        Index("ix_hotline_cases_open_due_at", "open_due_at", "state"),
        Index("ix_hotline_cases_community_id_open_due_at", "community_id", "open_due_at", "state"),
        Index("ix_hotline_cases_street_id_open_due_at", "street_id", "open_due_at", "state"),
        Index("ix_hotline_cases_district_id_open_due_at", "district_id", "open_due_at", "state"),
        Index("ix_hotline_cases_hotline_id_open_due_at", "hotline_id", "open_due_at", "state"),
        Index("ix_hotline_cases_category_open_due_at", "category", "open_due_at", "state"),
        Index("ix_hotline_cases_state_id", "state", "id"),
        Index("ix_hotline_cases_caller_phone_state", "caller_phone", "state"),
        Index("ix_hotline_cases_operator_id_open_due_at", "operator_id", "open_due_at", "state"),
        Index("ix_hotline_cases_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    # Set by the system that sent the call in (telephony, WeChat form, this desk's form):
    # sending the same request again answers with the same case.
    client_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotlines.id"))
    caller_phone: Mapped[str] = mapped_column(String(20))
    caller_name: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(200))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    category: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    suggested_category: Mapped[str] = mapped_column(String(16))
    suggested_urgency: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    # Where the case is routed: the responsible area (its ancestors copied) and the desk.
    responsible_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    district_id: Mapped[int | None] = mapped_column(Integer)
    street_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer)
    desk: Mapped[str | None] = mapped_column(String(100))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    open_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    callback_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    calls: Mapped[int] = mapped_column(Integer, default=1)


class TimelineEntry(Base):
    """One thing that happened to a case: a note, a call, a state change, with who and when."""

    __tablename__ = "hotline_timeline"
    __table_args__ = (Index("ix_hotline_timeline_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hotline_cases.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    state_from: Mapped[str | None] = mapped_column(String(16))
    state_to: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    # Updates sent through the API carry their own request id, so a resend adds nothing.
    client_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class LinkedWork(Base):
    """Work a case spawned for another desk: a delivery, a medical transport, a home visit.

    Owned here until logistics picks delivery requests up (docs/hotline.md says how).
    """

    __tablename__ = "hotline_linked_work"
    __table_args__ = (Index("ix_hotline_linked_work_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hotline_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The other system's id for it once it took the work (e.g. a logistics delivery order).
    external_ref: Mapped[str | None] = mapped_column(String(64))


class FollowUp(Base):
    """The caller's satisfaction, asked after the case closed."""

    __tablename__ = "hotline_follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hotline_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(60))
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
