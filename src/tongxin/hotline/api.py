"""Hotline JSON API under /api/v1/hotline: intake and updates for telephony and WeChat forms.

Both writes are idempotent with the sender's `client_request_id`: a resend answers with the
same case and changes nothing. A signed-in user holding `hotline.cases` calls them (a
telephony bridge signs in as a service user of its hotline).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.hotline import board, service
from tongxin.hotline.classify import suggest_for
from tongxin.hotline.models import Hotline, HotlineCase, TimelineEntry
from tongxin.hotline.rules import CaseState, HotlineRuleError, is_overdue
from tongxin.hotline.schemas import (
    CaseOut,
    IntakeIn,
    ResidentHint,
    SuggestionOut,
    TimelineOut,
    UpdateIn,
    WorkOut,
)
from tongxin.registry.models import Area, Resident
from tongxin.registry.queries import Scope
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, api_requires, api_scope, api_user
from tongxin.web.openapi import error_responses

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
CASES = api_requires(Permission.HOTLINE_CASES)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _refuse(exc: service.HotlineError | HotlineRuleError, status: int = 409) -> HTTPException:
    if isinstance(exc, service.HotlineError) and exc.code in (
        "unknown_hotline",
        "unknown_case",
        "unknown_resident",
        "no_open_case",
    ):
        status = 404
    return HTTPException(status_code=status, detail=f"{exc.code}: {exc.message}")


def case_out(session: Session, case: HotlineCase, *, now: datetime, full: bool) -> CaseOut:
    """Build the API view of a case (with its timeline and linked work when `full`)."""
    hotline = session.get(Hotline, case.hotline_id)
    area = session.get(Area, case.responsible_area_id)
    resident_code = (
        session.scalar(select(Resident.resident_code).where(Resident.id == case.resident_id))
        if case.resident_id
        else None
    )
    out = CaseOut(
        code=case.code,
        hotline=hotline.code if hotline else "",
        state=case.state,
        category=case.category,
        urgency=case.urgency,
        suggested_category=case.suggested_category,
        suggested_urgency=case.suggested_urgency,
        caller_phone=case.caller_phone,
        caller_name=case.caller_name,
        address=case.address,
        resident_code=resident_code,
        description=case.description,
        responsible_area=area.code if area else "",
        desk=case.desk,
        opened_at=case.opened_at,
        due_at=case.due_at,
        overdue=is_overdue(CaseState(case.state), case.due_at, now),
        calls=case.calls,
    )
    if full:
        out.timeline = [_entry(e) for e in service.timeline(session, case)]
        out.linked_work = [
            WorkOut(
                id=w.id,
                kind=w.kind,
                status=w.status,
                details=w.details,
                external_ref=w.external_ref,
            )
            for w in service.linked_work(session, case)
        ]
    return out


def _entry(e: TimelineEntry) -> TimelineOut:
    return TimelineOut(
        at=e.at, by=e.by, kind=e.kind, state_from=e.state_from, state_to=e.state_to, text=e.text
    )


@router.post(
    "/cases",
    response_model=CaseOut,
    status_code=201,
    dependencies=[CASES],
    responses={
        200: {"model": CaseOut, "description": "Added to an open case, or a resend"},
        **error_responses(400, 401, 403, 404, 409),
    },
)
def intake(
    body: IntakeIn,
    request: Request,
    response: Response,
    session: Session = RequestSession,
    user: User = Depends(api_user),
    scope: Scope = Depends(api_scope),
) -> Any:
    """Take a call: open a routed case, or add it to the caller's open case (idempotent)."""
    now = datetime.now(UTC)
    try:
        taken = service.take_call(
            session,
            intake=body,
            user=user,
            scope=scope,
            now=now,
            deadlines=service.deadline_hours(_settings(request)),
        )
    except service.RepeatCaller as exc:
        return JSONResponse(
            status_code=409,
            content={"detail": f"repeat_caller: {' '.join(c.code for c in exc.open_cases)}"},
        )
    except service.HotlineError as exc:
        raise _refuse(exc) from exc
    if taken.outcome != "created":
        response.status_code = 200
    out = case_out(session, taken.case, now=now, full=False)
    out.outcome = taken.outcome
    return out


@router.get(
    "/cases/{code}",
    response_model=CaseOut,
    dependencies=[CASES],
    responses=error_responses(401, 403, 404),
)
def get_case(
    code: str,
    session: Session = RequestSession,
    user: User = Depends(api_user),
    scope: Scope = Depends(api_scope),
) -> CaseOut:
    """Return a case with its timeline and linked work."""
    try:
        case = service.visible_case(session, scope, user.id, code)
    except service.HotlineError as exc:
        raise _refuse(exc) from exc
    return case_out(session, case, now=datetime.now(UTC), full=True)


@router.post(
    "/cases/{code}/updates",
    response_model=CaseOut,
    dependencies=[CASES],
    responses=error_responses(400, 401, 403, 404, 409),
)
def update_case(
    code: str,
    body: UpdateIn,
    request: Request,
    session: Session = RequestSession,
    user: User = Depends(api_user),
    scope: Scope = Depends(api_scope),
) -> CaseOut:
    """Add a note or call, or move the case a step; a resent request id changes nothing."""
    now = datetime.now(UTC)
    try:
        case = service.visible_case(session, scope, user.id, code)
    except service.HotlineError as exc:
        raise _refuse(exc) from exc
    replay = body.client_request_id is not None and session.scalar(
        select(TimelineEntry.id).where(TimelineEntry.client_request_id == body.client_request_id)
    )
    if not replay:
        try:
            if body.kind == "action":
                if body.action is None:
                    raise service.HotlineError("no_action", "kind action needs an action", "action")
                service.act(
                    session,
                    case=case,
                    action=body.action,
                    by=user.username,
                    now=now,
                    text=body.text,
                    deadlines=service.deadline_hours(_settings(request)),
                    client_request_id=body.client_request_id,
                )
            else:
                service.add_note(
                    session,
                    case=case,
                    by=user.username,
                    now=now,
                    text=body.text,
                    call=body.kind == "call",
                    callback_confirmed=body.callback_confirmed,
                    client_request_id=body.client_request_id,
                )
        except HotlineRuleError as exc:
            raise _refuse(exc, 409) from exc
        except service.HotlineError as exc:
            raise _refuse(exc, 409) from exc
    out = case_out(session, case, now=now, full=True)
    out.outcome = "replayed" if replay else "updated"
    return out


@router.get(
    "/residents",
    response_model=list[ResidentHint],
    dependencies=[CASES],
    responses=error_responses(401, 403),
)
def resident_hints(
    q: str = Query(..., min_length=1, max_length=60),
    session: Session = RequestSession,
    user: User = Depends(api_user),
    scope: Scope = Depends(api_scope),
) -> Any:
    """Suggest residents as the operator types (phone digits, name, building), with open cases."""
    try:
        hints = board.resident_hints(session, scope=scope, q=q)
    except service.HotlineError as exc:
        # In FastAPI's validation-error shape, as the schema documents 422.
        problem = {"loc": ["query", "q"], "msg": exc.message, "type": exc.code}
        return JSONResponse(status_code=422, content={"detail": [problem]})
    out = []
    for hint in hints:
        phone = hint.resident.phone or ""
        cases = service.open_cases_for_phone(session, phone, scope, user.id) if phone else []
        out.append(
            ResidentHint(
                resident_code=hint.resident.resident_code,
                name=hint.resident.name,
                phone=phone,
                address=hint.address,
                open_cases=[c.code for c in cases],
            )
        )
    return out


@router.get(
    "/open-cases",
    response_model=list[CaseOut],
    dependencies=[CASES],
    responses=error_responses(401, 403),
)
def open_cases(
    phone: str = Query(..., min_length=5, max_length=30),
    session: Session = RequestSession,
    user: User = Depends(api_user),
    scope: Scope = Depends(api_scope),
) -> list[CaseOut]:
    """Return the open cases of a caller's number (a repeat call offers to attach to them)."""
    now = datetime.now(UTC)
    return [
        case_out(session, c, now=now, full=False)
        for c in service.open_cases_for_phone(session, phone, scope, user.id)
    ]


@router.get(
    "/suggest",
    response_model=SuggestionOut,
    dependencies=[CASES],
    responses=error_responses(401, 403),
)
def suggest(text: str = Query(..., min_length=1, max_length=2000)) -> SuggestionOut:
    """Suggest a category and an urgency for a description (jieba words and keyword rules)."""
    got = suggest_for(text)
    return SuggestionOut(category=got.category, urgency=got.urgency, words=list(got.words))
