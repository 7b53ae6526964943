"""Hotline pages: the operator's desk with fast intake, the case, the board and statistics.

Forms post here and redirect back (post/redirect/get); refusals re-render with the reason.
The desk's script (web/static/hotline.js) asks the JSON API for resident hints, the
caller's open cases and the suggested category as the operator types.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import N_, Permission, may
from tongxin.audit.context import web_actor
from tongxin.audit.service import record
from tongxin.hotline import board, service
from tongxin.hotline.exports import write_statistics
from tongxin.hotline.models import Hotline, HotlineCase, LinkedWork
from tongxin.hotline.rules import (
    Action,
    CaseState,
    Category,
    LinkedWorkKind,
    LinkedWorkStatus,
    is_overdue,
)
from tongxin.hotline.schemas import IntakeIn
from tongxin.registry.models import Area, Resident
from tongxin.registry.queries import Scope
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, page_user, requires, scope_of
from tongxin.web.templating import gettext_for
from tongxin.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

CASES = [requires(Permission.HOTLINE_CASES)]
SUPERVISE = [requires(Permission.HOTLINE_SUPERVISE)]
CHINA = timezone(timedelta(hours=8))

# What a refused step says on the page, by the service's or the rules' code.
PROBLEMS = {
    "callback_required": N_("需先回访确认问题已解决,才能关闭工单。"),
    "bad_state": N_("工单当前状态不能执行这一步。"),
    "bad_action": N_("不能执行这一步。"),
    "not_resolved": N_("只有已办结的工单才能回访确认。"),
    "not_closed": N_("工单关闭后才能记录满意度回访。"),
    "closed": N_("已关闭的工单不能改派或发起联动,请先重新打开。"),
    "empty_note": N_("请填写记录内容。"),
    "empty_details": N_("请写明需要什么。"),
    "bad_work_status": N_("联动事项不能这样变更。"),
    "unknown_hotline": N_("热线不存在或不在您的辖区。"),
    "unknown_resident": N_("居民不存在或不在您的辖区。"),
    "no_open_case": N_("该号码没有这个未办结工单。"),
    "unknown_area": N_("区域不存在或不在您的辖区。"),
}


def problem_text(request: Request, exc: Exception) -> str:
    """Say why a step was refused, in the page's language."""
    code = getattr(exc, "code", "")
    return str(gettext_for(request)(PROBLEMS.get(code, N_("输入有误,未保存。"))))


def china_time(value: datetime | None) -> str:
    """Show a stored UTC time in China time, to the minute."""
    return value.astimezone(CHINA).strftime("%m-%d %H:%M") if value is not None else ""


def _render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    now = datetime.now(UTC)

    def overdue(case: HotlineCase) -> bool:
        return is_overdue(CaseState(case.state), case.due_at, now)

    return render_page(
        request,
        name,
        {**context, "china_time": china_time, "overdue": overdue, "now": now, "crumbs": []},
        status_code=status_code,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _who(user: User = Depends(page_user), session: Session = RequestSession) -> tuple[User, Scope]:
    return user, scope_of(session, user)


# --- the operator's desk and intake ------------------------------------------------------------


def _desk(
    request: Request,
    session: Session,
    user: User,
    scope: Scope,
    *,
    form: dict[str, str] | None = None,
    problem: str | None = None,
    repeat: list[HotlineCase] | None = None,
    status_code: int = 200,
) -> Response:
    now = datetime.now(UTC)
    return _render(
        request,
        "hotline/desk.html",
        {
            "page": board.desk(session, user_id=user.id, now=now),
            "hotlines": service.hotlines_for(session, user, scope),
            "form": form or {},
            "problem": problem,
            "repeat": repeat or [],
            "categories": list(Category),
        },
        status_code=status_code,
    )


@router.get("/hotline", dependencies=CASES)
def desk_page(
    request: Request,
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Show the operator's open cases and the intake form."""
    user, scope = who
    return _desk(request, session, user, scope)


@router.post("/hotline/intake", dependencies=CASES)
def intake_form(
    request: Request,
    hotline: str = Form(""),
    caller_phone: str = Form(""),
    caller_name: str = Form(""),
    address: str = Form(""),
    resident_code: str = Form(""),
    description: str = Form(""),
    category: str = Form(""),
    urgency: str = Form(""),
    client_request_id: str = Form(""),
    attach_to: str = Form(""),
    repeat: str = Form("ask"),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Take a call from the desk's form; a number with an open case is offered to attach."""
    user, scope = who
    form = {
        "hotline": hotline,
        "caller_phone": caller_phone,
        "caller_name": caller_name,
        "address": address,
        "resident_code": resident_code,
        "description": description,
        "category": category,
        "urgency": urgency,
        "client_request_id": client_request_id,
    }
    try:
        intake = IntakeIn.model_validate(
            {
                **{k: v for k, v in form.items() if v},
                "hotline": hotline,
                "caller_phone": caller_phone,
                "description": description,
                "resident_code": resident_code or None,
                "attach_to": attach_to or None,
                "on_repeat": "new" if repeat == "new" else "ask",
            }
        )
    except ValidationError as exc:
        problem = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return _desk(request, session, user, scope, form=form, problem=problem, status_code=422)
    try:
        taken = service.take_call(
            session,
            intake=intake,
            user=user,
            scope=scope,
            now=datetime.now(UTC),
            deadlines=service.deadline_hours(_settings(request)),
        )
    except service.RepeatCaller as exc:
        return _desk(request, session, user, scope, form=form, repeat=exc.open_cases)
    except service.HotlineError as exc:
        return _desk(request, session, user, scope, form=form, problem=exc.message, status_code=422)
    return RedirectResponse(
        f"/hotline/cases/{taken.case.code}?{urlencode({'done': taken.outcome})}", status_code=303
    )


# --- the case ---------------------------------------------------------------------------------


def _case(session: Session, user: User, scope: Scope, code: str) -> HotlineCase:
    try:
        return service.visible_case(session, scope, user.id, code)
    except service.HotlineError as exc:
        raise HTTPException(status_code=404) from exc


def _case_page(
    request: Request,
    session: Session,
    user: User,
    case: HotlineCase,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    resident = session.get(Resident, case.resident_id) if case.resident_id else None
    return _render(
        request,
        "hotline/case.html",
        {
            "case": case,
            "hotline": session.get(Hotline, case.hotline_id),
            "area": session.get(Area, case.responsible_area_id),
            "resident": resident,
            "timeline": service.timeline(session, case),
            "work": service.linked_work(session, case),
            "follow_ups": service.follow_ups(session, case),
            "problem": problem,
            "done": request.query_params.get("done"),
            "supervisor": may(user.role, Permission.HOTLINE_SUPERVISE),
            "work_kinds": list(LinkedWorkKind),
            "next_work": {
                "requested": ["accepted", "cancelled"],
                "accepted": ["done", "cancelled"],
            },
        },
        status_code=status_code,
    )


@router.get("/hotline/cases/{code}", dependencies=CASES)
def case_page(
    code: str,
    request: Request,
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Show a case: caller, routing, deadline, timeline, linked work and follow-up."""
    user, scope = who
    return _case_page(request, session, user, _case(session, user, scope, code))


def _back(case: HotlineCase) -> Response:
    return RedirectResponse(f"/hotline/cases/{case.code}", status_code=303)


@router.post("/hotline/cases/{code}/step", dependencies=CASES)
def step(
    code: str,
    request: Request,
    action: str = Form(...),
    text: str = Form("", max_length=2000),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Move a case one step: start, resolve, close (after a confirmed call back), reopen."""
    user, scope = who
    case = _case(session, user, scope, code)
    try:
        chosen = Action(action)
        service.act(
            session,
            case=case,
            action=chosen,
            by=user.username,
            now=datetime.now(UTC),
            text=text,
            deadlines=service.deadline_hours(_settings(request)),
        )
    except ValueError as exc:
        return _case_page(
            request, session, user, case, problem=problem_text(request, exc), status_code=409
        )
    return _back(case)


@router.post("/hotline/cases/{code}/note", dependencies=CASES)
def note(
    code: str,
    request: Request,
    kind: str = Form("note"),
    text: str = Form("", max_length=2000),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Add a note, a call, or a call back that confirms the case is solved."""
    user, scope = who
    case = _case(session, user, scope, code)
    try:
        service.add_note(
            session,
            case=case,
            by=user.username,
            now=datetime.now(UTC),
            text=text,
            call=kind in ("call", "callback"),
            callback_confirmed=kind == "callback",
        )
    except service.HotlineError as exc:
        return _case_page(
            request, session, user, case, problem=problem_text(request, exc), status_code=409
        )
    return _back(case)


@router.post("/hotline/cases/{code}/work", dependencies=CASES)
def work(
    code: str,
    request: Request,
    kind: str = Form(""),
    details: str = Form("", max_length=1000),
    work_id: int | None = Form(None),
    status: str = Form(""),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Spawn linked work (delivery, medical transport, home visit) or move one on."""
    user, scope = who
    case = _case(session, user, scope, code)
    now = datetime.now(UTC)
    try:
        if work_id is not None:
            item = session.scalar(
                select(LinkedWork).where(LinkedWork.id == work_id, LinkedWork.case_id == case.id)
            )
            if item is None:
                raise HTTPException(status_code=404)
            service.move_work(
                session, work=item, status=LinkedWorkStatus(status), by=user.username, now=now
            )
        else:
            if not details.strip():
                raise service.HotlineError("empty_details", "details are empty", "details")
            service.spawn_work(
                session,
                case=case,
                kind=LinkedWorkKind(kind),
                details=details.strip(),
                by=user.username,
                now=now,
            )
    except ValueError as exc:
        return _case_page(
            request, session, user, case, problem=problem_text(request, exc), status_code=409
        )
    return _back(case)


@router.post("/hotline/cases/{code}/follow-up", dependencies=CASES)
def follow_up(
    code: str,
    request: Request,
    satisfaction: int = Form(..., ge=1, le=5),
    comment: str = Form("", max_length=1000),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Record the caller's satisfaction after the case closed."""
    user, scope = who
    case = _case(session, user, scope, code)
    try:
        service.record_follow_up(
            session,
            case=case,
            satisfaction=satisfaction,
            comment=comment,
            by=user.username,
            now=datetime.now(UTC),
        )
    except service.HotlineError as exc:
        return _case_page(
            request, session, user, case, problem=problem_text(request, exc), status_code=409
        )
    return _back(case)


@router.post("/hotline/cases/{code}/reassign", dependencies=SUPERVISE)
def reassign(
    code: str,
    request: Request,
    area: str = Form(..., max_length=40),
    desk: str = Form("", max_length=100),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Route a case to another area and desk inside the supervisor's jurisdiction."""
    user, scope = who
    case = _case(session, user, scope, code)
    target = session.scalar(select(Area).where(Area.code == area))
    if target is None or not scope.contains(target):
        return _case_page(
            request,
            session,
            user,
            case,
            problem=str(gettext_for(request)(PROBLEMS["unknown_area"])),
            status_code=422,
        )
    before = {"area": case.responsible_area_id, "desk": case.desk}
    now = datetime.now(UTC)
    try:
        service.reassign(session, case=case, area=target, desk=desk, by=user.username, now=now)
    except service.HotlineError as exc:
        return _case_page(
            request, session, user, case, problem=problem_text(request, exc), status_code=409
        )
    record(
        session,
        actor=web_actor(request, user),
        action="hotline.case.reassign",
        target_type="hotline_case",
        target_id=case.code,
        area=target,
        now=now,
        before=before,
        after={"area": target.id, "desk": case.desk},
    )
    return _back(case)


# --- the supervisor board and statistics ----------------------------------------------------------


def _filter_area(session: Session, scope: Scope, code: str) -> Area | None:
    if not code:
        return None
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None or not scope.contains(area):
        raise HTTPException(status_code=404)
    return area


@router.get("/hotline/board", dependencies=SUPERVISE)
def board_page(
    request: Request,
    state: str = Query("", max_length=16),
    hotline: str = Query("", max_length=40),
    category: str = Query("", max_length=16),
    area: str = Query("", max_length=40),
    after: str = Query("", max_length=80),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Show open cases overdue first (or one state), filtered by hotline, category and area."""
    user, scope = who
    hotlines = service.hotlines_for(session, user, scope)
    try:
        filters = board.BoardFilters(
            state=CaseState(state) if state else None,
            hotline_id=next((h.id for h in hotlines if h.code == hotline), -1) if hotline else None,
            category=Category(category) if category else None,
            area=_filter_area(session, scope, area),
            after=after or None,
        )
        # The board is the jurisdiction's cases only (no "or taken by me"): that OR would
        # defeat the (area, open_due_at) indexes; a supervisor's own calls are on their desk.
        page = board.board(
            session, scope=scope, user_id=None, filters=filters, now=datetime.now(UTC)
        )
    except (ValueError, service.HotlineError) as exc:
        raise HTTPException(status_code=400) from exc
    query = {"state": state, "hotline": hotline, "category": category, "area": area}
    return _render(
        request,
        "hotline/board.html",
        {
            "page": page,
            "hotlines": hotlines,
            "query": query,
            "categories": list(Category),
            "states": list(CaseState),
            "next_link": (
                "/hotline/board?" + urlencode({**query, "after": page.next_after})
                if page.next_after
                else None
            ),
        },
    )


def _figures(
    session: Session, user: User, scope: Scope, start: str, end: str, now: datetime
) -> tuple[date, date, board.Statistics]:
    """Read the period from the query (China days; default the last 7) and count it."""
    today = now.astimezone(CHINA).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=6)
    except ValueError as exc:
        raise HTTPException(status_code=400) from exc
    if last < first or (last - first).days > 366:
        raise HTTPException(status_code=400)
    figures = board.statistics(
        session,
        scope=scope,
        user_id=user.id,
        start=datetime.combine(first, time(), CHINA).astimezone(UTC),
        end=datetime.combine(last + timedelta(days=1), time(), CHINA).astimezone(UTC),
        now=now,
    )
    return first, last, figures


@router.get("/hotline/stats", dependencies=SUPERVISE)
def stats_page(
    request: Request,
    start: str = Query("", alias="from", max_length=10),
    end: str = Query("", alias="to", max_length=10),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Show received, resolved, median time to resolve and overdue, with charts."""
    first, last, figures = _figures(session, *who, start, end, datetime.now(UTC))
    return _render(
        request,
        "hotline/stats.html",
        {"figures": figures, "first": first.isoformat(), "last": last.isoformat()},
    )


@router.get("/hotline/stats.xlsx", dependencies=SUPERVISE)
def stats_export(
    start: str = Query("", alias="from", max_length=10),
    end: str = Query("", alias="to", max_length=10),
    session: Session = RequestSession,
    who: tuple[User, Scope] = Depends(_who),
) -> Response:
    """Download the statistics of a period as xlsx."""
    now = datetime.now(UTC)
    first, last, figures = _figures(session, *who, start, end, now)
    out = io.BytesIO()
    write_statistics(figures, out, by=who[0].username, at=now)
    name = f"hotline-stats-{first.isoformat()}-{last.isoformat()}.xlsx"
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
