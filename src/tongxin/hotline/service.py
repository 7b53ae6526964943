"""Hotline use cases: hotlines, intake (idempotent, repeat callers), routing, the case's steps.

Every function works inside the caller's transaction (flush, never commit). Reads for the
boards and statistics are in `board.py`; overdue escalation is in `deadlines.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.hotline import rules
from tongxin.hotline.classify import suggest_for
from tongxin.hotline.models import (
    FollowUp,
    Hotline,
    HotlineCase,
    HotlineOperator,
    HotlineRoute,
    LinkedWork,
    TimelineEntry,
)
from tongxin.hotline.rules import (
    Action,
    CaseState,
    Category,
    HotlineRuleError,
    LinkedWorkKind,
    LinkedWorkStatus,
    Urgency,
)
from tongxin.hotline.schemas import IntakeIn
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.queries import Scope
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import level_column
from tongxin.settings import Settings

Outcome = Literal["created", "attached", "replayed"]
_CASE_AREA_COLUMNS = ("district_id", "street_id", "community_id")


class HotlineError(ValueError):
    """A hotline request that cannot be carried out; `code` is stable, `field` names what."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class RepeatCaller(HotlineError):
    """The number has open cases and the sender asked to be told instead of attaching."""

    def __init__(self, open_cases: Sequence[HotlineCase]) -> None:
        super().__init__(
            "repeat_caller",
            "this number has an open case: attach the call to it or open a new case",
            "caller_phone",
        )
        self.open_cases = list(open_cases)


def deadline_hours(settings: Settings) -> dict[Urgency, float]:
    """Return the resolve-within hours per urgency from settings."""
    return {
        Urgency.CRITICAL: settings.hotline_due_hours_critical,
        Urgency.URGENT: settings.hotline_due_hours_urgent,
        Urgency.NORMAL: settings.hotline_due_hours_normal,
    }


# --- hotlines and routing rules -------------------------------------------------------------


def add_hotline(
    session: Session,
    *,
    code: str,
    name: str,
    number: str,
    organisation: str,
    jurisdiction: Area,
    hours: str,
    operators: Sequence[User] = (),
) -> Hotline:
    """Create a hotline answering for `jurisdiction`, with its operators."""
    if session.scalar(select(Hotline.id).where(Hotline.code == code)) is not None:
        raise HotlineError("hotline_exists", f"hotline {code!r} already exists", "code")
    hotline = Hotline(
        code=code,
        name=name,
        number=number,
        organisation=organisation,
        jurisdiction_id=jurisdiction.id,
        hours=hours,
    )
    session.add(hotline)
    session.flush()
    for user in operators:
        session.add(HotlineOperator(hotline_id=hotline.id, user_id=user.id))
    session.flush()
    return hotline


def hotline_by_code(session: Session, code: str) -> Hotline:
    """Return the hotline with this code or raise HotlineError."""
    hotline = session.scalar(select(Hotline).where(Hotline.code == code))
    if hotline is None:
        raise HotlineError("unknown_hotline", f"no hotline {code!r}", "hotline")
    return hotline


def add_route(
    session: Session,
    *,
    area: Area,
    category: Category | None,
    desk: str,
    responsible: Area | None = None,
) -> HotlineRoute:
    """Send cases of `category` (any when None) under `area` to `desk` in `responsible`."""
    route = HotlineRoute(
        area_id=area.id,
        category=category.value if category else None,
        desk=desk,
        responsible_area_id=(responsible or area).id,
    )
    session.add(route)
    session.flush()
    return route


def hotlines_for(session: Session, user: User, scope: Scope) -> list[Hotline]:
    """Return the hotlines a user may take calls on: theirs, or those in their scope."""
    mine = select(HotlineOperator.hotline_id).where(HotlineOperator.user_id == user.id)
    found = session.scalars(
        select(Hotline)
        .join(Area, Area.id == Hotline.jurisdiction_id)
        .where(or_(Hotline.id.in_(mine), _areas_in(scope)))
        .order_by(Hotline.code)
    )
    return list(found)


def may_take_calls(session: Session, user: User, scope: Scope, hotline: Hotline) -> bool:
    """Tell whether a user answers this hotline: an operator of it, or it lies in their scope."""
    operates = select(HotlineOperator.id).where(
        HotlineOperator.hotline_id == hotline.id, HotlineOperator.user_id == user.id
    )
    if session.scalar(operates) is not None:
        return True
    area = session.get(Area, hotline.jurisdiction_id)
    return area is not None and scope.contains(area)


def _areas_in(scope: Scope) -> ColumnElement[bool]:
    if scope.whole:
        return true()
    if scope.root is None:
        return false()
    col = level_column(AreaLevel(scope.root.level))
    if col is None:
        return Area.id == scope.root.id
    return getattr(Area, col) == scope.root.id


# --- who sees a case --------------------------------------------------------------------------


def cases_visible(scope: Scope, user_id: int | None = None) -> ColumnElement[bool]:
    """Return the WHERE clause of the cases a user sees: routed into their scope, or taken."""
    mine = HotlineCase.operator_id == user_id if user_id is not None else false()
    if scope.whole:
        return true()
    if scope.root is None:
        return mine
    col = level_column(AreaLevel(scope.root.level))
    if col in _CASE_AREA_COLUMNS:
        return or_(getattr(HotlineCase, col) == scope.root.id, mine)
    return or_(HotlineCase.responsible_area_id == scope.root.id, mine)


def visible_case(session: Session, scope: Scope, user_id: int | None, code: str) -> HotlineCase:
    """Return the case with this code when the user may see it, else raise HotlineError."""
    case = session.scalar(
        select(HotlineCase).where(HotlineCase.code == code, cases_visible(scope, user_id))
    )
    if case is None:
        raise HotlineError("unknown_case", f"no case {code!r}", "case")
    return case


# --- intake -----------------------------------------------------------------------------------


def open_cases_for_phone(
    session: Session, phone: str, scope: Scope | None = None, user_id: int | None = None
) -> list[HotlineCase]:
    """Return the open cases of a caller's number, newest first."""
    query = select(HotlineCase).where(
        HotlineCase.caller_phone == rules.normalise_phone(phone),
        HotlineCase.state.in_([s.value for s in rules.OPEN_STATES]),
    )
    if scope is not None:
        query = query.where(cases_visible(scope, user_id))
    return list(session.scalars(query.order_by(HotlineCase.id.desc())))


@dataclass(frozen=True)
class Taken:
    """What an intake did: the case and whether it was created, attached to or replayed."""

    case: HotlineCase
    outcome: Outcome


def take_call(
    session: Session,
    *,
    intake: IntakeIn,
    user: User,
    scope: Scope,
    now: datetime,
    deadlines: Mapping[Urgency, float],
) -> Taken:
    """Record one call: open a routed case, or add the call to the caller's open case.

    The same client request id answers with the same case and changes nothing.
    """
    if intake.client_request_id is not None:
        replay = _replayed(session, intake.client_request_id)
        if replay is not None:
            return Taken(replay, "replayed")
    hotline = hotline_by_code(session, intake.hotline)
    if not may_take_calls(session, user, scope, hotline):
        raise HotlineError("unknown_hotline", f"no hotline {intake.hotline!r}", "hotline")
    resident = _resident(session, scope, intake.resident_code)
    open_cases = open_cases_for_phone(session, intake.caller_phone, scope, user.id)
    target: HotlineCase | None = None
    if intake.attach_to is not None:
        target = next((c for c in open_cases if c.code == intake.attach_to), None)
        if target is None:
            raise HotlineError(
                "no_open_case", f"no open case {intake.attach_to!r} for this number", "attach_to"
            )
    elif open_cases and intake.on_repeat == "attach":
        target = open_cases[0]
    elif open_cases and intake.on_repeat == "ask":
        raise RepeatCaller(open_cases)
    if target is not None:
        target.calls += 1
        log_entry(
            session,
            target,
            by=user.username,
            at=now,
            kind="call",
            text=intake.description,
            client_request_id=intake.client_request_id,
        )
        return Taken(target, "attached")
    return Taken(
        _open_case(
            session,
            intake=intake,
            hotline=hotline,
            resident=resident,
            user=user,
            now=now,
            deadlines=deadlines,
        ),
        "created",
    )


def _replayed(session: Session, request_id: str) -> HotlineCase | None:
    case = session.scalar(select(HotlineCase).where(HotlineCase.client_request_id == request_id))
    if case is not None:
        return case
    entry = session.scalar(
        select(TimelineEntry).where(TimelineEntry.client_request_id == request_id)
    )
    return session.get(HotlineCase, entry.case_id) if entry is not None else None


def _resident(session: Session, scope: Scope, code: str | None) -> Resident | None:
    if not code:
        return None
    resident = session.scalar(
        select(Resident).where(Resident.resident_code == code, scope.residents())
    )
    if resident is None:
        raise HotlineError("unknown_resident", f"no resident {code!r}", "resident_code")
    return resident


def _open_case(
    session: Session,
    *,
    intake: IntakeIn,
    hotline: Hotline,
    resident: Resident | None,
    user: User,
    now: datetime,
    deadlines: Mapping[Urgency, float],
) -> HotlineCase:
    suggestion = suggest_for(intake.description)
    category = intake.category or suggestion.category
    urgency = intake.urgency or suggestion.urgency
    if resident is not None:
        home = session.get(Household, resident.household_id)
        ancestors = [
            home.area_id if home else resident.building_id,
            resident.building_id,
            resident.compound_id,
            resident.community_id,
            resident.street_id,
            resident.district_id,
        ]
        fallback = resident.community_id
    else:
        area = session.get(Area, hotline.jurisdiction_id)
        assert area is not None
        ancestors = [area.id, *_ancestor_ids(area)]
        fallback = area.id
    routing = rules.route(
        category,
        list(dict.fromkeys(a for a in ancestors if a is not None)),
        _route_rules(session, ancestors),
        fallback_area_id=fallback,
    )
    due = rules.due_at(now, urgency, deadlines)
    case = HotlineCase(
        code=new_case_code(),
        client_request_id=intake.client_request_id,
        hotline_id=hotline.id,
        caller_phone=intake.caller_phone,
        caller_name=intake.caller_name or (resident.name if resident else ""),
        address=intake.address,
        resident_id=resident.id if resident else None,
        category=category.value,
        urgency=urgency.value,
        suggested_category=suggestion.category.value,
        suggested_urgency=suggestion.urgency.value,
        description=intake.description,
        state=CaseState.NEW.value,
        responsible_area_id=routing.responsible_area_id,
        desk=routing.desk,
        operator_id=user.id,
        opened_at=now,
        due_at=due,
        open_due_at=due,
        calls=1,
    )
    _place(session, case, routing.responsible_area_id)
    session.add(case)
    session.flush()
    log_entry(session, case, by=user.username, at=now, kind="opened", text=intake.description)
    _move(session, case, Action.ASSIGN, by=user.username, at=now, text=_routed_text(session, case))
    return case


def new_case_code() -> str:
    """Return a fresh case code a caller can read out over the phone."""
    return "RX" + uuid.uuid4().hex[:10].upper()


def _ancestor_ids(area: Area) -> list[int]:
    ids = [area.compound_id, area.community_id, area.street_id, area.district_id]
    return [i for i in ids if i is not None and i != area.id]


def _route_rules(session: Session, ancestors: Sequence[int | None]) -> list[rules.RouteRule]:
    ids = [a for a in ancestors if a is not None]
    return [
        rules.RouteRule(
            area_id=r.area_id,
            category=Category(r.category) if r.category else None,
            desk=r.desk,
            responsible_area_id=r.responsible_area_id,
        )
        for r in session.scalars(select(HotlineRoute).where(HotlineRoute.area_id.in_(ids)))
    ]


def _place(session: Session, case: HotlineCase, area_id: int) -> None:
    area = session.get(Area, area_id)
    if area is None:
        raise HotlineError("unknown_area", f"no area {area_id}", "area")
    case.responsible_area_id = area.id
    for col in _CASE_AREA_COLUMNS:
        setattr(case, col, getattr(area, col))


def _routed_text(session: Session, case: HotlineCase) -> str:
    area = session.get(Area, case.responsible_area_id)
    name = area.name if area else str(case.responsible_area_id)
    return f"{name} · {case.desk}" if case.desk else name


# --- steps on a case ---------------------------------------------------------------------------


def log_entry(
    session: Session,
    case: HotlineCase,
    *,
    by: str,
    at: datetime,
    kind: str,
    text: str = "",
    state_from: str | None = None,
    state_to: str | None = None,
    client_request_id: str | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        case_id=case.id,
        at=at,
        by=by,
        kind=kind,
        text=text,
        state_from=state_from,
        state_to=state_to,
        client_request_id=client_request_id,
    )
    session.add(entry)
    session.flush()
    return entry


def _move(
    session: Session,
    case: HotlineCase,
    action: Action,
    *,
    by: str,
    at: datetime,
    text: str = "",
    deadlines: Mapping[Urgency, float] | None = None,
    client_request_id: str | None = None,
) -> None:
    before = CaseState(case.state)
    confirmed = (
        case.callback_confirmed_at is not None
        and case.resolved_at is not None
        and case.callback_confirmed_at >= case.resolved_at
    )
    after = rules.next_state(before, action, callback_confirmed=confirmed)
    case.state = after.value
    if action is Action.RESOLVE:
        case.resolved_at = at
        case.callback_confirmed_at = None
    elif action is Action.CLOSE:
        case.closed_at = at
    elif action is Action.REOPEN:
        # A reopened case gets a fresh deadline from now and is escalated again when late.
        case.resolved_at = None
        case.closed_at = None
        case.callback_confirmed_at = None
        if deadlines is not None:
            case.due_at = rules.due_at(at, Urgency(case.urgency), deadlines)
    case.open_due_at = case.due_at if after in rules.OPEN_STATES else None
    log_entry(
        session,
        case,
        by=by,
        at=at,
        kind="state",
        text=text,
        state_from=before.value,
        state_to=after.value,
        client_request_id=client_request_id,
    )


def act(
    session: Session,
    *,
    case: HotlineCase,
    action: Action,
    by: str,
    now: datetime,
    text: str = "",
    deadlines: Mapping[Urgency, float],
    client_request_id: str | None = None,
) -> HotlineCase:
    """Move a case one step (start, resolve, close, reopen); the rules say which are allowed."""
    if action is Action.ASSIGN:
        raise HotlineRuleError("bad_action", "assigning is done by routing or reassigning")
    _move(
        session,
        case,
        action,
        by=by,
        at=now,
        text=text,
        deadlines=deadlines,
        client_request_id=client_request_id,
    )
    return case


def add_note(
    session: Session,
    *,
    case: HotlineCase,
    by: str,
    now: datetime,
    text: str,
    call: bool = False,
    callback_confirmed: bool = False,
    client_request_id: str | None = None,
) -> TimelineEntry:
    """Add a note or a call to the timeline; a call back after resolving may confirm it."""
    if not text and not callback_confirmed:
        raise HotlineError("empty_note", "a note needs text", "text")
    kind = "call" if call else "note"
    if callback_confirmed:
        if case.state != CaseState.RESOLVED.value:
            raise HotlineError(
                "not_resolved", "only a resolved case can be confirmed by a call back", "kind"
            )
        case.callback_confirmed_at = now
        kind = "callback"
    return log_entry(
        session, case, by=by, at=now, kind=kind, text=text, client_request_id=client_request_id
    )


def reassign(
    session: Session,
    *,
    case: HotlineCase,
    area: Area,
    desk: str | None,
    by: str,
    now: datetime,
) -> HotlineCase:
    """Route a case to another area and desk (a supervisor's call); it is assigned again."""
    if case.state == CaseState.CLOSED.value:
        raise HotlineError("closed", "a closed case cannot be reassigned; reopen it first")
    _place(session, case, area.id)
    case.desk = desk or None
    if case.state in (CaseState.NEW.value, CaseState.ASSIGNED.value):
        _move(session, case, Action.ASSIGN, by=by, at=now, text=_routed_text(session, case))
    else:
        log_entry(session, case, by=by, at=now, kind="reassigned", text=_routed_text(session, case))
    return case


def spawn_work(
    session: Session,
    *,
    case: HotlineCase,
    kind: LinkedWorkKind,
    details: str,
    by: str,
    now: datetime,
) -> LinkedWork:
    """Ask another desk for work on this case; it starts as requested."""
    if case.state == CaseState.CLOSED.value:
        raise HotlineError("closed", "a closed case spawns no work", "kind")
    work = LinkedWork(
        case_id=case.id,
        kind=kind.value,
        status=LinkedWorkStatus.REQUESTED.value,
        details=details,
        created_at=now,
        updated_at=now,
    )
    session.add(work)
    session.flush()
    log_entry(session, case, by=by, at=now, kind="work", text=f"{kind.value}: {details}")
    return work


def move_work(
    session: Session,
    *,
    work: LinkedWork,
    status: LinkedWorkStatus,
    by: str,
    now: datetime,
    external_ref: str | None = None,
) -> LinkedWork:
    """Move linked work on (accepted, done, cancelled) and note it on its case."""
    rules.next_work_status(LinkedWorkStatus(work.status), status)
    work.status = status.value
    work.updated_at = now
    if external_ref:
        work.external_ref = external_ref
    case = session.get(HotlineCase, work.case_id)
    assert case is not None
    log_entry(session, case, by=by, at=now, kind="work", text=f"{work.kind}: {status.value}")
    return work


def requested_work(session: Session, *, kind: LinkedWorkKind, limit: int = 500) -> list[LinkedWork]:
    """Return linked work of a kind still waiting for a desk to take it, oldest first.

    This is what logistics reads to turn delivery requests into its own orders; it then
    answers through `move_work` (accepted with its order id, done, cancelled).
    """
    return list(
        session.scalars(
            select(LinkedWork)
            .where(
                LinkedWork.kind == kind.value,
                LinkedWork.status == LinkedWorkStatus.REQUESTED.value,
            )
            .order_by(LinkedWork.id)
            .limit(limit)
        )
    )


def record_follow_up(
    session: Session,
    *,
    case: HotlineCase,
    satisfaction: int,
    comment: str,
    by: str,
    now: datetime,
) -> FollowUp:
    """Record the caller's satisfaction (1-5) after the case closed."""
    if case.state != CaseState.CLOSED.value:
        raise HotlineError("not_closed", "follow-up comes after the case is closed", "state")
    if not 1 <= satisfaction <= 5:
        raise HotlineError("bad_satisfaction", "satisfaction is 1 to 5", "satisfaction")
    follow = FollowUp(case_id=case.id, at=now, by=by, satisfaction=satisfaction, comment=comment)
    session.add(follow)
    session.flush()
    log_entry(session, case, by=by, at=now, kind="follow_up", text=f"{satisfaction}/5 {comment}")
    return follow


def timeline(session: Session, case: HotlineCase) -> list[TimelineEntry]:
    """Return a case's timeline, oldest first."""
    return list(
        session.scalars(
            select(TimelineEntry).where(TimelineEntry.case_id == case.id).order_by(TimelineEntry.id)
        )
    )


def linked_work(session: Session, case: HotlineCase) -> list[LinkedWork]:
    """Return a case's linked work, oldest first."""
    return list(
        session.scalars(
            select(LinkedWork).where(LinkedWork.case_id == case.id).order_by(LinkedWork.id)
        )
    )


def follow_ups(session: Session, case: HotlineCase) -> list[FollowUp]:
    """Return a case's follow-ups, oldest first."""
    return list(
        session.scalars(select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id))
    )
