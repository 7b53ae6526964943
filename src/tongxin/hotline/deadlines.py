"""Escalate overdue cases: mark them on the board's timeline and notify the supervisors.

Run by `tongxin hotline escalate` (from cron or a timer, every few minutes). The clock is
passed in, so tests move time by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tongxin.hotline import rules
from tongxin.hotline.models import HotlineCase
from tongxin.hotline.notify import Message, Notifier, NotifyError
from tongxin.hotline.rules import CaseState
from tongxin.hotline.service import log_entry
from tongxin.registry.models import Area

ESCALATION_BATCH = 500


@dataclass(frozen=True)
class Escalated:
    """What one escalation pass did."""

    cases: list[str]
    notified: bool
    error: str | None = None


def escalate_overdue(
    session: Session, *, now: datetime, notifier: Notifier, limit: int = ESCALATION_BATCH
) -> Escalated:
    """Escalate every case that fell overdue since its last escalation, and notify once.

    The escalation is recorded whether or not the message gets through: the board shows
    it either way, and a failed delivery is written on each case's timeline.
    """
    candidates = session.scalars(
        select(HotlineCase)
        .where(
            HotlineCase.open_due_at.is_not(None),
            HotlineCase.open_due_at < now,
            or_(
                HotlineCase.escalated_at.is_(None),
                HotlineCase.escalated_at < HotlineCase.due_at,
            ),
        )
        .order_by(HotlineCase.open_due_at, HotlineCase.id)
        .limit(limit)
    ).all()
    due = [
        c
        for c in candidates
        if rules.needs_escalation(CaseState(c.state), c.due_at, c.escalated_at, now)
    ]
    if not due:
        return Escalated([], notified=False)
    areas = dict(
        session.execute(
            select(Area.id, Area.name).where(Area.id.in_({c.responsible_area_id for c in due}))
        )
        .tuples()
        .all()
    )
    for case in due:
        case.escalated_at = now
        log_entry(
            session, case, by="system", at=now, kind="escalated", text="超时未办结,已上报督办"
        )
    lines = tuple(
        f"{c.code} {areas.get(c.responsible_area_id, '')} {c.urgency} "
        f"超时 {int((now - c.due_at).total_seconds() // 60)} 分钟: {c.description[:40]}"
        for c in due
    )
    try:
        notifier.send(Message(f"热线工单超时 {len(due)} 件", lines))
    except NotifyError as exc:
        for case in due:
            log_entry(session, case, by="system", at=now, kind="notify_failed", text=str(exc))
        return Escalated([c.code for c in due], notified=False, error=str(exc))
    return Escalated([c.code for c in due], notified=True)
