"""The audit log page: `/audit`, a searchable list for administrators and commanders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.audit.service import AuditFilters, search
from tongxin.web.deps import RequestSession, page_user, requires, scope_of
from tongxin.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Dates on the form are the days people in Guiyang live by, not UTC days.
CHINA = timezone(timedelta(hours=8))


def _day(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HTTPException(status_code=400, detail="date must be YYYY-MM-DD") from None


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


def _target(raw: str) -> tuple[str | None, str | None]:
    """Read `type:id` (or a bare id) from the target field."""
    raw = raw.strip()
    if not raw:
        return None, None
    kind, sep, ident = raw.partition(":")
    return (kind or None, ident or None) if sep else (None, raw)


@router.get("/audit", dependencies=[requires(Permission.AUDIT_READ)])
def audit_page(
    request: Request,
    actor: str = Query("", max_length=120),
    action: str = Query("", max_length=80),
    target: str = Query("", max_length=130),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    after: int | None = Query(None, ge=1),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """List audit entries in the reader's jurisdiction, newest first, with filters."""
    first_day, last_day = _day(since), _day(until)
    target_type, target_id = _target(target)
    filters = AuditFilters(
        actor=actor.strip() or None,
        action=action.strip() or None,
        target_type=target_type,
        target_id=target_id,
        since=_start_of(first_day) if first_day else None,
        until=_start_of(last_day + timedelta(days=1)) if last_day else None,
    )
    page = search(
        session, scope=scope_of(session, user), filters=filters, limit=PAGE_SIZE, after=after
    )
    form = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    kept = {k: v for k, v in form.items() if v}
    rows: list[dict[str, Any]] = [
        {
            "number": e.number,
            "at": e.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "actor": e.actor,
            "role": e.actor_role,
            "source": e.source or "",
            "action": e.action,
            "target": f"{e.target_type}:{e.target_id}",
            "summary": json.dumps(e.summary, ensure_ascii=False, sort_keys=True),
        }
        for e in page.entries
    ]
    return render(
        request,
        "audit/list.html",
        {
            "rows": rows,
            "form": form,
            "filtering": bool(kept),
            "first_url": "/audit?" + urlencode(kept) if after is not None else None,
            "next_url": (
                "/audit?" + urlencode({**kept, "after": page.next_after})
                if page.next_after is not None
                else None
            ),
            "crumbs": [],
        },
    )
