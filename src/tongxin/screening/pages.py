"""Screening pages: round overview, site view, tube and box search, queues, recall board.

Reads go through `board`, `reconcile` and `rejected`; the two actions write only through the
ledger: resolving a rejected event (`ledger.resolve_event`) and moving a recall one step
(a `recall_*` event sent through `ledger.ingest_events` as device `web:<username>`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.registry.queries import Scope
from tongxin.screening import board
from tongxin.screening.models import Round, Site
from tongxin.screening.reconcile import reconcile
from tongxin.screening.rejected import unresolved_flagged, unresolved_rejected
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, page_scope, page_user, scope_of
from tongxin.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

# Who may resolve rejected events, and who may move recalls on.
RESOLVERS = frozenset({Role.ADMIN, Role.COMMANDER, Role.HEALTH_OFFICER})
RECALLERS = RESOLVERS | {Role.COMMUNITY_WORKER}
CHINA = timezone(timedelta(hours=8))
RECALL_EVENTS = frozenset(board.NEXT_EVENT.values())
SEQ_EPOCH = datetime(2022, 1, 1, tzinfo=UTC)


def china_time(value: datetime | None) -> str:
    """Show a stored UTC time in China time, to the minute, as people on the ground read it."""
    return value.astimezone(CHINA).strftime("%m-%d %H:%M") if value is not None else ""


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render a screening page with its time formatter."""
    return render_page(
        request, name, {**context, "china_time": china_time}, status_code=status_code
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _may_see(scope: Scope, rnd: Round) -> bool:
    if scope.whole:
        return True
    return scope.root is not None and scope.root.district_id == rnd.district_id


def _round(session: Session, scope: Scope, code: str) -> Round:
    rnd = session.scalar(select(Round).where(Round.code == code))
    if rnd is None or not _may_see(scope, rnd):
        raise HTTPException(status_code=404)
    return rnd


@router.get("/rounds")
def rounds_page(
    request: Request,
    session: Session = RequestSession,
    scope: Scope = Depends(page_scope),
) -> Response:
    """List the rounds the user may see, newest first."""
    rounds = [
        r
        for r in session.scalars(select(Round).order_by(Round.starts_at.desc(), Round.code))
        if _may_see(scope, r)
    ]
    return render(request, "screening/rounds.html", {"rounds": rounds, "crumbs": []})


@router.get("/rounds/{code}")
def round_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    scope: Scope = Depends(page_scope),
) -> Response:
    """Show a round's progress by stage against its deadline, and its sites."""
    rnd = _round(session, scope, code)
    progress = board.round_progress(session, rnd=rnd, now=datetime.now(UTC))
    return render(request, "screening/round.html", {"rnd": rnd, "progress": progress, "crumbs": []})


@router.get("/rounds/{code}/sites/{site_code}")
def site_page(
    request: Request,
    code: str,
    site_code: str,
    session: Session = RequestSession,
    scope: Scope = Depends(page_scope),
) -> Response:
    """Show a site: its stations with swab and tube counts, open tubes and boxes."""
    rnd = _round(session, scope, code)
    site = session.scalar(select(Site).where(Site.round_id == rnd.id, Site.code == site_code))
    if site is None:
        raise HTTPException(status_code=404)
    view = board.site_view(session, site=site)
    return render(request, "screening/site.html", {"rnd": rnd, "view": view, "crumbs": []})


@router.get("/rounds/{code}/search")
def search_page(
    request: Request,
    code: str,
    q: str = "",
    session: Session = RequestSession,
    scope: Scope = Depends(page_scope),
) -> Response:
    """Find a tube barcode or box code and show its chain of custody."""
    rnd = _round(session, scope, code)
    chain = board.custody_chain(session, round_id=rnd.id, query=q[:40]) if q else None
    return render(
        request,
        "screening/search.html",
        {"rnd": rnd, "q": q, "chain": chain, "crumbs": []},
        status_code=404 if q and chain is None else 200,
    )


@router.get("/rounds/{code}/mismatches")
def mismatches_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    scope: Scope = Depends(page_scope),
) -> Response:
    """Show the reconciliation: counts, every broken invariant and the time flags."""
    rnd = _round(session, scope, code)
    settings = _settings(request)
    rec = reconcile(
        session,
        round_id=rnd.id,
        now=datetime.now(UTC),
        swab_to_receipt_hours=settings.swab_to_receipt_hours,
        receipt_to_result_hours=settings.receipt_to_result_hours,
        flag_limit=200,
    )
    return render(request, "screening/mismatches.html", {"rnd": rnd, "rec": rec, "crumbs": []})


@router.get("/rounds/{code}/rejected")
def rejected_page(
    request: Request,
    code: str,
    done: str | None = None,
    problem: str | None = None,
    resubmitted: str | None = None,
    outcome: str | None = None,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Show unresolved rejected events, then flagged accepted ones, each with a resolve form."""
    rnd = _round(session, scope_of(session, user), code)
    events = unresolved_rejected(session, round_id=rnd.id)
    return render(
        request,
        "screening/rejected.html",
        {
            "rnd": rnd,
            "events": events,
            "flagged": unresolved_flagged(session, round_id=rnd.id),
            "may_resolve": user.role in RESOLVERS,
            "done": done,
            "problem": problem,
            "resubmitted": resubmitted,
            "outcome": outcome,
            "crumbs": [],
        },
    )


@router.post("/rounds/{code}/rejected/{event_id}/resolve")
def resolve_rejected(
    code: str,
    event_id: str,
    resolution: str = Form(..., min_length=1, max_length=300),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Record how a person resolved a rejected event; the event itself is kept."""
    from tongxin.screening.ledger import LedgerError, event_by_id, resolve_event

    rnd = _round(session, scope_of(session, user), code)
    if user.role not in RESOLVERS:
        raise HTTPException(status_code=403)
    event = event_by_id(session, event_id=event_id)
    if event is None or event.round_id != rnd.id:
        raise HTTPException(status_code=404)
    target = f"/rounds/{rnd.code}/rejected?"
    try:
        resolve_event(
            session,
            event_id=event_id,
            by=user.username,
            resolution=resolution.strip(),
            now=datetime.now(UTC),
        )
    except LedgerError as problem:
        return RedirectResponse(target + urlencode({"problem": str(problem)}), status_code=303)
    return RedirectResponse(target + urlencode({"done": event_id}), status_code=303)


@router.post("/rounds/{code}/rejected/{event_id}/resubmit")
def resubmit_rejected(
    code: str,
    event_id: str,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Decide a rejected event again as things stand now; the original is kept and resolved."""
    from tongxin.screening.ledger import LedgerError, event_by_id, resubmit_event

    rnd = _round(session, scope_of(session, user), code)
    if user.role not in RESOLVERS:
        raise HTTPException(status_code=403)
    event = event_by_id(session, event_id=event_id)
    if event is None or event.round_id != rnd.id:
        raise HTTPException(status_code=404)
    target = f"/rounds/{rnd.code}/rejected?"
    try:
        answer = resubmit_event(session, event_id=event_id, by=user.username, now=datetime.now(UTC))
    except LedgerError as problem:
        return RedirectResponse(target + urlencode({"problem": str(problem)}), status_code=303)
    outcome = {"resubmitted": event_id, "outcome": answer.code or answer.status}
    return RedirectResponse(target + urlencode(outcome), status_code=303)


@router.get("/rounds/{code}/recalls")
def recalls_page(
    request: Request,
    code: str,
    closed: bool = False,
    problem: str | None = None,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Show the recall board: each recalled person, address, phone, state, due and overdue."""
    scope = scope_of(session, user)
    rnd = _round(session, scope, code)
    now = datetime.now(UTC)
    rows = board.recall_board(
        session,
        round_id=rnd.id,
        now=now,
        residents_clause=scope.residents(),
        include_walk_ins=scope.whole,
        show_closed=closed,
    )
    return render(
        request,
        "screening/recalls.html",
        {
            "rnd": rnd,
            "rows": rows,
            "closed": closed,
            "may_act": user.role in RECALLERS,
            "problem": problem,
            "overdue": sum(1 for r in rows if r.overdue),
            "crumbs": [],
        },
    )


@router.post("/rounds/{code}/recalls/step")
def recall_step(
    code: str,
    tube: str = Form(..., max_length=40),
    position: int = Form(..., ge=1),
    type: str = Form(..., max_length=32),
    retest_tube: str = Form("", max_length=40),
    result: str = Form("", max_length=16),
    note: str = Form("", max_length=300),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Move one recall a step on by sending its `recall_*` event through the ledger."""
    from tongxin.screening.ledger import ingest_events

    rnd = _round(session, scope_of(session, user), code)
    if user.role not in RECALLERS:
        raise HTTPException(status_code=403)
    if type not in RECALL_EVENTS:
        raise HTTPException(status_code=400)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "device": f"web:{user.username}"[:64],
        # The browser keeps no counter; seconds since 2022 order one user's steps and fit
        # the 32-bit seq column until 2090.
        "seq": int((now - SEQ_EPOCH).total_seconds()),
        "type": type,
        "at": now.astimezone(CHINA).isoformat(),
        "round": rnd.code,
        "tube": tube,
        "position": position,
    }
    if note.strip():
        event["note"] = note.strip()
    if type == "recall_resampled":
        event["retest_tube"] = retest_tube.strip()
    if type == "recall_resulted":
        event["result"] = result
    answer = ingest_events(session, events=[event], received_at=now)[0]
    target = f"/rounds/{rnd.code}/recalls"
    if answer.status == "rejected":
        message = answer.message or answer.code or "rejected"
        return RedirectResponse(f"{target}?{urlencode({'problem': message})}", status_code=303)
    return RedirectResponse(target, status_code=303)
