"""Screening pages: round overview, site view, tube and box search, queues, recall board.

Reads go through `board`, `reconcile` and `rejected`; the two actions write only through the
ledger: resolving a rejected event (`ledger.resolve_event`) and moving a recall one step
(a `recall_*` event sent through `ledger.ingest_events` as device `web:<username>`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission, may
from tongxin.audit.context import web_actor
from tongxin.audit.service import record
from tongxin.privacy.rules import Detail, may_see_full
from tongxin.privacy.service import note_full_display
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope
from tongxin.screening import board
from tongxin.screening.models import Round, RoundLab, Site
from tongxin.screening.reconcile import reconcile
from tongxin.screening.rejected import unresolved_flagged, unresolved_rejected
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, page_user, request_viewer, requires, scope_of
from tongxin.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

READ = [requires(Permission.SCREENING_READ)]
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


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a screening page with their area scope and lab (if any)."""

    user: User
    scope: Scope

    @property
    def lab_id(self) -> int | None:
        return self.user.lab_id

    def may(self, permission: Permission) -> bool:
        return may(self.user.role, permission)

    def sees_area(self, area: Area | None) -> bool:
        return area is not None and self.scope.contains(area)

    def covers_district(self, rnd: Round) -> bool:
        """Tell whether the user's jurisdiction is the round's whole district (or more)."""
        return self.scope.whole or (
            self.scope.root is not None and self.scope.root.id == rnd.district_id
        )


def viewer(user: User = Depends(page_user), session: Session = RequestSession) -> Viewer:
    """Return the screening viewer of a page."""
    return Viewer(user, scope_of(session, user))


def _may_see(session: Session, who: Viewer, rnd: Round) -> bool:
    # A round belongs to a district: an area user sees it when their jurisdiction lies in
    # that district; a lab user when their lab serves the round.
    if who.scope.whole:
        return True
    if who.scope.root is not None and who.scope.root.district_id == rnd.district_id:
        return True
    if who.lab_id is None:
        return False
    served = select(RoundLab.id).where(RoundLab.round_id == rnd.id, RoundLab.lab_id == who.lab_id)
    return session.scalar(served) is not None


def _round(session: Session, who: Viewer, code: str) -> Round:
    rnd = session.scalar(select(Round).where(Round.code == code))
    if rnd is None or not _may_see(session, who, rnd):
        raise HTTPException(status_code=404)
    return rnd


def _sees_chain(session: Session, who: Viewer, chain: board.Chain) -> bool:
    # An area user sees tubes and boxes packed at sites in their jurisdiction; a lab user
    # the boxes their lab received and the tubes in them.
    if who.scope.whole:
        return True
    if chain.site_area_id is not None and who.sees_area(session.get(Area, chain.site_area_id)):
        return True
    return who.lab_id is not None and chain.box is not None and chain.box.lab_id == who.lab_id


def _whole_district(who: Viewer, rnd: Round) -> None:
    # Reconciliation and the rejected queue span the whole district (places and people of
    # every community): only users whose jurisdiction is that district get them.
    if not who.covers_district(rnd):
        raise HTTPException(status_code=403)


def district_round(session: Session, who: Viewer, code: str) -> Round:
    """Return a round whose whole district the user covers: 404 when they may not see the
    round at all, 403 when they see only part of its district (planning uses this too)."""
    rnd = _round(session, who, code)
    _whole_district(who, rnd)
    return rnd


@router.get("/rounds", dependencies=READ)
def rounds_page(
    request: Request,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """List the rounds the user may see, newest first."""
    rounds = [
        r
        for r in session.scalars(select(Round).order_by(Round.starts_at.desc(), Round.code))
        if _may_see(session, who, r)
    ]
    return render(request, "screening/rounds.html", {"rounds": rounds, "crumbs": []})


@router.get("/rounds/{code}", dependencies=READ)
def round_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show a round's progress by stage against its deadline, and its sites."""
    rnd = _round(session, who, code)
    progress = board.round_progress(session, rnd=rnd, now=datetime.now(UTC))
    # The stage counts are the district's (no person in them); sites only those in scope.
    areas = {
        a.id: a
        for a in session.scalars(
            select(Area).where(Area.id.in_([s.area_id for s, _ in progress.sites]))
        )
    }
    progress.sites[:] = [(s, n) for s, n in progress.sites if who.sees_area(areas.get(s.area_id))]
    return render(request, "screening/round.html", {"rnd": rnd, "progress": progress, "crumbs": []})


@router.get("/rounds/{code}/sites/{site_code}", dependencies=READ)
def site_page(
    request: Request,
    code: str,
    site_code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show a site: its stations with swab and tube counts, open tubes and boxes."""
    rnd = _round(session, who, code)
    site = session.scalar(select(Site).where(Site.round_id == rnd.id, Site.code == site_code))
    if site is None or not who.sees_area(session.get(Area, site.area_id)):
        raise HTTPException(status_code=404)
    view = board.site_view(session, site=site)
    return render(request, "screening/site.html", {"rnd": rnd, "view": view, "crumbs": []})


@router.get("/rounds/{code}/search", dependencies=READ)
def search_page(
    request: Request,
    code: str,
    q: str = "",
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Find a tube barcode or box code and show its chain of custody."""
    rnd = _round(session, who, code)
    chain = board.custody_chain(session, round_id=rnd.id, query=q[:40]) if q else None
    if chain is not None and not _sees_chain(session, who, chain):
        # Existence is private: a tube of another community answers like an unknown one.
        chain = None
    return render(
        request,
        "screening/search.html",
        {"rnd": rnd, "q": q, "chain": chain, "crumbs": []},
        status_code=404 if q and chain is None else 200,
    )


@router.get("/rounds/{code}/mismatches", dependencies=[requires(Permission.SCREENING_RECONCILE)])
def mismatches_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show the reconciliation: counts, every broken invariant and the time flags."""
    rnd = _round(session, who, code)
    _whole_district(who, rnd)
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


@router.get("/rounds/{code}/rejected", dependencies=[requires(Permission.SCREENING_RECONCILE)])
def rejected_page(
    request: Request,
    code: str,
    done: str | None = None,
    problem: str | None = None,
    resubmitted: str | None = None,
    outcome: str | None = None,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show unresolved rejected events, then flagged accepted ones, each with a resolve form."""
    rnd = _round(session, who, code)
    _whole_district(who, rnd)
    events = unresolved_rejected(session, round_id=rnd.id)
    return render(
        request,
        "screening/rejected.html",
        {
            "rnd": rnd,
            "events": events,
            "flagged": unresolved_flagged(session, round_id=rnd.id),
            "may_resolve": who.may(Permission.SCREENING_RESOLVE),
            "done": done,
            "problem": problem,
            "resubmitted": resubmitted,
            "outcome": outcome,
            "crumbs": [],
        },
    )


def _rejected_event(session: Session, who: Viewer, code: str, event_id: str) -> tuple[Round, Any]:
    """Return the round and one of its stored events for the rejected queue, or answer 404."""
    from tongxin.screening.ledger import event_by_id

    rnd = _round(session, who, code)
    _whole_district(who, rnd)
    event = event_by_id(session, event_id=event_id)
    if event is None or event.round_id != rnd.id:
        raise HTTPException(status_code=404)
    return rnd, event


def _back_to_queue(rnd: Round, **query: str) -> Response:
    return RedirectResponse(f"/rounds/{rnd.code}/rejected?{urlencode(query)}", status_code=303)


@router.post(
    "/rounds/{code}/rejected/{event_id}/resolve",
    dependencies=[requires(Permission.SCREENING_RESOLVE)],
)
def resolve_rejected(
    request: Request,
    code: str,
    event_id: str,
    resolution: str = Form(..., min_length=1, max_length=300),
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Record how a person resolved a rejected event; the event itself is kept."""
    from tongxin.screening.ledger import LedgerError, resolve_event

    rnd, event = _rejected_event(session, who, code, event_id)
    now = datetime.now(UTC)
    note = resolution.strip()
    try:
        resolve_event(session, event_id=event_id, by=who.user.username, resolution=note, now=now)
    except LedgerError as problem:
        return _back_to_queue(rnd, problem=str(problem))
    record(
        session,
        actor=web_actor(request, who.user),
        action="screening.event.resolve",
        target_type="event",
        target_id=event_id,
        area=rnd.district_id,
        now=now,
        after={"round": rnd.code, "code": event.code, "resolution": note},
    )
    return _back_to_queue(rnd, done=event_id)


@router.post(
    "/rounds/{code}/rejected/{event_id}/resubmit",
    dependencies=[requires(Permission.SCREENING_RESOLVE)],
)
def resubmit_rejected(
    request: Request,
    code: str,
    event_id: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Decide a rejected event again as things stand now; the original is kept and resolved."""
    from tongxin.screening.ledger import LedgerError, resubmit_event

    rnd, event = _rejected_event(session, who, code, event_id)
    now = datetime.now(UTC)
    try:
        answer = resubmit_event(session, event_id=event_id, by=who.user.username, now=now)
    except LedgerError as problem:
        return _back_to_queue(rnd, problem=str(problem))
    outcome = {"resubmitted": event_id, "outcome": answer.code or answer.status}
    record(
        session,
        actor=web_actor(request, who.user),
        action="screening.event.resubmit",
        target_type="event",
        target_id=event_id,
        area=rnd.district_id,
        now=now,
        after={"round": rnd.code, "code": event.code, "new_event": answer.id, **outcome},
    )
    return _back_to_queue(rnd, **outcome)


@router.get("/rounds/{code}/recalls", dependencies=[requires(Permission.RECALL_READ)])
def recalls_page(
    request: Request,
    code: str,
    closed: bool = False,
    problem: str | None = None,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show the recall board: each recalled person, address, phone, state, due and overdue."""
    rnd = _round(session, who, code)
    now = datetime.now(UTC)
    rows = board.recall_board(
        session,
        round_id=rnd.id,
        now=now,
        residents_clause=who.scope.residents(),
        include_walk_ins=who.scope.whole,
        show_closed=closed,
    )
    # Recalled people are phoned to be isolated and resampled: whole phones for those who call.
    phone_full = may_see_full(who.user.role, Detail.PHONE)
    phones = sum(1 for r in rows if r.phone)
    if phone_full and phones:
        note_full_display(
            session,
            viewer=request_viewer(request),
            what=Detail.PHONE,
            target=f"recall board of round {rnd.code}",
            count=phones,
            area=rnd.district_id,
        )
    return render(
        request,
        "screening/recalls.html",
        {
            "rnd": rnd,
            "rows": rows,
            "phone_full": phone_full,
            "closed": closed,
            "may_act": who.may(Permission.RECALL_MANAGE),
            "problem": problem,
            "overdue": sum(1 for r in rows if r.overdue),
            "crumbs": [],
        },
    )


@router.post("/rounds/{code}/recalls/step", dependencies=[requires(Permission.RECALL_MANAGE)])
def recall_step(
    request: Request,
    code: str,
    tube: str = Form(..., max_length=40),
    position: int = Form(..., ge=1),
    type: str = Form(..., max_length=32),
    retest_tube: str = Form("", max_length=40),
    result: str = Form("", max_length=16),
    note: str = Form("", max_length=300),
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Move one recall a step on by sending its `recall_*` event through the ledger."""
    from tongxin.screening.ledger import ingest_events

    rnd = _round(session, who, code)
    if not board.recall_visible(
        session,
        round_id=rnd.id,
        tube=tube,
        position=position,
        residents_clause=who.scope.residents(),
        include_walk_ins=who.scope.whole,
    ):
        # Someone else's recall (or none): as private as the board that does not list it.
        raise HTTPException(status_code=404)
    if type not in RECALL_EVENTS:
        raise HTTPException(status_code=400)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "device": f"web:{who.user.username}"[:64],
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
    # The step itself is in the ledger; the log says who took it and from where.
    record(
        session,
        actor=web_actor(request, who.user),
        action=f"screening.recall.{type.removeprefix('recall_')}",
        target_type="recall",
        target_id=f"{rnd.code}/{tube}/{position}",
        area=rnd.district_id,
        now=now,
        after={"event": event["id"], "status": answer.status, "code": answer.code},
    )
    target = f"/rounds/{rnd.code}/recalls"
    if answer.status == "rejected":
        message = answer.message or answer.code or "rejected"
        return RedirectResponse(f"{target}?{urlencode({'problem': message})}", status_code=303)
    return RedirectResponse(target, status_code=303)
