"""Hotline reads: the operator's desk, the supervisor board, resident hints, statistics.

Board pages are keyset pages in `open_due_at` order (the deadline of open cases, NULL once
resolved), so overdue cases come first and each page is one index range, at a million cases
as at ten (docs/hotline.md, decision 0012).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from tongxin.hotline import rules
from tongxin.hotline.models import Hotline, HotlineCase
from tongxin.hotline.rules import CaseState, Category
from tongxin.hotline.service import HotlineError, cases_visible
from tongxin.registry.models import Area, Resident
from tongxin.registry.queries import Scope
from tongxin.registry.search import SearchError, parse_terms, term_clauses

BOARD_PAGE = 50


@dataclass(frozen=True)
class BoardFilters:
    """What the supervisor narrowed the board to; None means any."""

    state: CaseState | None = None
    hotline_id: int | None = None
    category: Category | None = None
    area: Area | None = None
    after: str | None = None  # keyset cursor "<open_due_at iso>|<id>" or "<id>"


@dataclass
class BoardPage:
    """One page of the board with the per-state counts of open cases and the overdue count."""

    cases: list[HotlineCase]
    counts: dict[str, int]
    overdue: int
    next_after: str | None
    now: datetime
    hotlines: dict[int, str] = field(default_factory=dict)
    areas: dict[int, str] = field(default_factory=dict)


def _area_clause(area: Area) -> ColumnElement[bool]:
    column = {
        "district": HotlineCase.district_id,
        "street": HotlineCase.street_id,
        "community": HotlineCase.community_id,
    }.get(area.level)
    return column == area.id if column is not None else HotlineCase.responsible_area_id == area.id


def _filters(scope: Scope, user_id: int | None, f: BoardFilters) -> list[ColumnElement[bool]]:
    clauses = [cases_visible(scope, user_id)]
    if f.hotline_id is not None:
        clauses.append(HotlineCase.hotline_id == f.hotline_id)
    if f.category is not None:
        clauses.append(HotlineCase.category == f.category.value)
    if f.area is not None:
        clauses.append(_area_clause(f.area))
    return clauses


def board(
    session: Session,
    *,
    scope: Scope,
    user_id: int | None,
    filters: BoardFilters,
    now: datetime,
    limit: int = BOARD_PAGE,
) -> BoardPage:
    """Return one page of the supervisor board: open cases overdue first, or one state."""
    clauses = _filters(scope, user_id, filters)
    state = filters.state
    if state is None or state in rules.OPEN_STATES:
        # Open cases in deadline order: the overdue ones (earliest deadlines) lead.
        clauses.append(HotlineCase.open_due_at.is_not(None))
        if state is not None:
            clauses.append(HotlineCase.state == state.value)
        query = select(HotlineCase).where(*clauses)
        cursor = _due_cursor(filters.after)
        if cursor is not None:
            due, last_id = cursor
            query = query.where(
                or_(
                    HotlineCase.open_due_at > due,
                    and_(HotlineCase.open_due_at == due, HotlineCase.id > last_id),
                )
            )
        rows = list(
            session.scalars(
                query.order_by(HotlineCase.open_due_at, HotlineCase.id).limit(limit + 1)
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = (
            f"{rows[-1].open_due_at.isoformat()}|{rows[-1].id}"
            if more and rows and rows[-1].open_due_at
            else None
        )
    else:
        # Resolved and closed cases, newest first.
        query = select(HotlineCase).where(*clauses, HotlineCase.state == state.value)
        if filters.after and filters.after.isdigit():
            query = query.where(HotlineCase.id < int(filters.after))
        rows = list(session.scalars(query.order_by(HotlineCase.id.desc()).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = str(rows[-1].id) if more and rows else None
    open_clauses = [*_filters(scope, user_id, filters), HotlineCase.open_due_at.is_not(None)]
    # Grouped by an expression, not the bare column: on the bare column SQLite's planner walks
    # the whole (state, id) index (a million entries) to avoid a sort, where reading the few
    # open cases through the open_due_at index and sorting them costs a few milliseconds.
    state_key = HotlineCase.state + ""
    counts = {
        s: n
        for s, n in session.execute(
            select(state_key, func.count()).where(*open_clauses).group_by(state_key)
        ).tuples()
    }
    overdue = int(
        session.scalar(
            select(func.count())
            .select_from(HotlineCase)
            .where(*open_clauses, HotlineCase.open_due_at < now)
        )
        or 0
    )
    page = BoardPage(rows, counts, overdue, next_after, now)
    _names(session, [page])
    return page


def _due_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw or "|" not in raw:
        return None
    due, _, last = raw.partition("|")
    try:
        return datetime.fromisoformat(due), int(last)
    except ValueError as exc:
        raise HotlineError("bad_cursor", "bad page cursor", "after") from exc


def desk(session: Session, *, user_id: int, now: datetime, limit: int = BOARD_PAGE) -> BoardPage:
    """Return the operator's own open cases, overdue first."""
    rows = list(
        session.scalars(
            select(HotlineCase)
            .where(HotlineCase.operator_id == user_id, HotlineCase.open_due_at.is_not(None))
            .order_by(HotlineCase.open_due_at, HotlineCase.id)
            .limit(limit)
        )
    )
    page = BoardPage(rows, {}, sum(1 for c in rows if _overdue(c, now)), None, now)
    _names(session, [page])
    return page


def _overdue(case: HotlineCase, now: datetime) -> bool:
    return rules.is_overdue(CaseState(case.state), case.due_at, now)


def _names(session: Session, pages: Sequence[BoardPage]) -> None:
    hotline_ids = {c.hotline_id for p in pages for c in p.cases}
    area_ids = {c.responsible_area_id for p in pages for c in p.cases}
    hotlines = dict(
        session.execute(select(Hotline.id, Hotline.name).where(Hotline.id.in_(hotline_ids)))
        .tuples()
        .all()
    )
    areas = dict(
        session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids))).tuples().all()
    )
    for p in pages:
        p.hotlines, p.areas = hotlines, areas


# --- resident hints for intake --------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    """A resident matching what the operator typed, and their address."""

    resident: Resident
    address: str


_BUILDING_MARKS = ("栋", "号楼", "幢", "楼")


def resident_hints(session: Session, *, scope: Scope, q: str, limit: int = 8) -> list[Hint]:
    """Suggest residents as the operator types: by phone digits, name or building.

    Digits (4 or more) match a phone's tail, as the registry's search does; a term ending in
    栋/号楼/幢 is a building name; anything else is the start of a name.
    """
    terms = q.split()
    if not terms:
        return []
    clauses = [scope.residents()]
    for term in terms[:3]:
        try:
            if term.isdigit():
                clauses += term_clauses(parse_terms(phone=term))
            elif term.endswith(_BUILDING_MARKS):
                buildings = select(Area.id).where(Area.level == "building", Area.name == term)
                clauses.append(Resident.building_id.in_(buildings))
            else:
                clauses += term_clauses(parse_terms(name=term))
        except SearchError as exc:
            raise HotlineError(exc.code, exc.message, "q") from exc
    rows = list(
        session.scalars(select(Resident).where(*clauses).order_by(Resident.id).limit(limit))
    )
    return [Hint(r, _address(session, r)) for r in rows]


def _address(session: Session, resident: Resident) -> str:
    ids = [resident.community_id, resident.compound_id, resident.building_id]
    names = dict(session.execute(select(Area.id, Area.name).where(Area.id.in_(ids))).tuples().all())
    return "".join(names.get(i, "") for i in ids)


# --- statistics ------------------------------------------------------------------------------


@dataclass
class StatRow:
    """Figures of one group (a hotline, a category, an area) over a period."""

    key: str
    label: str
    received: int = 0
    resolved: int = 0
    overdue: int = 0
    durations: list[timedelta] = field(default_factory=list)

    @property
    def median_hours(self) -> float | None:
        return rules.median_hours(self.durations)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "received": self.received,
            "resolved": self.resolved,
            "median_hours_to_resolve": self.median_hours,
            "overdue": self.overdue,
        }


@dataclass
class Statistics:
    """Statistics of the cases opened in [start, end) by hotline, category, area and day."""

    start: datetime
    end: datetime
    total: StatRow
    by_hotline: list[StatRow]
    by_category: list[StatRow]
    by_area: list[StatRow]
    by_day: list[StatRow]

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "total": self.total.as_dict(),
            "by_hotline": [r.as_dict() for r in self.by_hotline],
            "by_category": [r.as_dict() for r in self.by_category],
            "by_area": [r.as_dict() for r in self.by_area],
            "by_day": [r.as_dict() for r in self.by_day],
        }


def statistics(
    session: Session,
    *,
    scope: Scope,
    user_id: int | None,
    start: datetime,
    end: datetime,
    now: datetime,
    day_offset: timedelta = timedelta(hours=8),
) -> Statistics:
    """Count received, resolved, overdue and the median time to resolve, per group.

    A case counts in the period it was opened in; "resolved" means resolved (or closed) by
    now; "overdue" means it passed its deadline unresolved, or was resolved after it.
    Days are China days (UTC+8) unless `day_offset` says otherwise.
    """
    rows = session.execute(
        select(
            HotlineCase.hotline_id,
            HotlineCase.category,
            HotlineCase.community_id,
            HotlineCase.responsible_area_id,
            HotlineCase.opened_at,
            HotlineCase.resolved_at,
            HotlineCase.closed_at,
            HotlineCase.due_at,
            HotlineCase.state,
        ).where(
            cases_visible(scope, user_id),
            HotlineCase.opened_at >= start,
            HotlineCase.opened_at < end,
        )
    ).all()
    hotline_names = dict(session.execute(select(Hotline.id, Hotline.name)).tuples().all())
    area_ids = {r.community_id or r.responsible_area_id for r in rows}
    area_names = dict(
        session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids))).tuples().all()
    )
    total = StatRow("all", "合计")
    groups: dict[str, dict[str, StatRow]] = defaultdict(dict)
    for r in rows:
        area_id = r.community_id or r.responsible_area_id
        day = (r.opened_at + day_offset).date().isoformat()
        keys = {
            "hotline": (str(r.hotline_id), hotline_names.get(r.hotline_id, str(r.hotline_id))),
            "category": (r.category, r.category),
            "area": (str(area_id), area_names.get(area_id, str(area_id))),
            "day": (day, day),
        }
        resolved_at = r.resolved_at or r.closed_at
        state = CaseState(r.state)
        late = rules.is_overdue(state, r.due_at, now) or (
            resolved_at is not None and resolved_at > r.due_at
        )
        targets = [total]
        for kind, (key, label) in keys.items():
            targets.append(groups[kind].setdefault(key, StatRow(key, label)))
        for row in targets:
            row.received += 1
            if resolved_at is not None and state not in rules.OPEN_STATES:
                row.resolved += 1
                row.durations.append(resolved_at - r.opened_at)
            row.overdue += late

    def ordered(kind: str) -> list[StatRow]:
        return sorted(groups[kind].values(), key=lambda s: (-s.received, s.key))

    return Statistics(
        start=start,
        end=end,
        total=total,
        by_hotline=ordered("hotline"),
        by_category=sorted(
            groups["category"].values(), key=lambda s: list(Category).index(Category(s.key))
        ),
        by_area=ordered("area"),
        by_day=sorted(groups["day"].values(), key=lambda s: s.key),
    )
