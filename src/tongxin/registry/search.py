"""Resident search and detail reads: validated terms, keyset pages, one person's record.

Lists page by keyset on the primary key (`id > :after ORDER BY id LIMIT n+1`), never by
OFFSET, and every term maps onto an index: the ancestor columns, `phone_tail`, `id_tail`
and `name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from tongxin.audit.context import Actor
from tongxin.audit.service import record
from tongxin.privacy.service import RecordView, Viewer, id_number_hash, view_record
from tongxin.registry import rules
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.queries import Scope, residents_under, visible_area
from tongxin.registry.rules import AreaLevel, Group
from tongxin.registry.service import residence_history

MIN_SUFFIX = 4
MAX_LIMIT = 200


def N_(message: str) -> str:
    """Mark a UI message for extraction; it is translated where it is shown."""
    return message


class SearchError(ValueError):
    """A search parameter that cannot be used; `message` is a UI msgid (Chinese)."""

    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SearchTerms:
    """Validated free-text search terms of a resident list."""

    name: str | None = None
    phone: str | None = None
    id_suffix: str | None = None
    # Keyed hash of `id_suffix` when it is longer than a tail: ID numbers are stored sealed,
    # so anything past the indexed last four is looked up as a whole number.
    id_hash: str | None = None

    @property
    def empty(self) -> bool:
        """Tell whether no term narrows the list."""
        return not (self.name or self.phone or self.id_suffix)


_DIGITS = re.compile(r"^\d+$")
_ID_CHARS = re.compile(r"^[0-9A-Z]+$")


def parse_terms(
    *, name: str | None = None, phone: str | None = None, id_suffix: str | None = None
) -> SearchTerms:
    """Validate raw search terms as typed in a form; blank means absent."""
    name = (name or "").strip() or None
    phone = rules.normalise_phone(phone or "") or None
    id_suffix = rules.normalise_id_number(id_suffix or "") or None
    if name is not None and len(name) > 60:
        raise SearchError("name", "name_length", N_("姓名最多60个字"))
    if phone is not None and (not _DIGITS.match(phone) or len(phone) < MIN_SUFFIX):
        raise SearchError("phone", "phone_suffix", N_("手机尾号至少4位数字"))
    if phone is not None and len(phone) > 11:
        raise SearchError("phone", "phone_suffix", N_("手机尾号最多11位数字"))
    if id_suffix is not None and (not _ID_CHARS.match(id_suffix) or len(id_suffix) < MIN_SUFFIX):
        raise SearchError("id_suffix", "id_suffix", N_("证件尾号至少4位数字或字母"))
    if id_suffix is not None and len(id_suffix) > 32:
        raise SearchError("id_suffix", "id_suffix", N_("证件尾号最多32位"))
    return SearchTerms(name=name, phone=phone, id_suffix=id_suffix)


def parse_after(raw: str | None) -> int | None:
    """Validate the keyset cursor of a page link."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _DIGITS.match(raw) or len(raw) > 18:
        raise SearchError("after", "after", N_("翻页参数无效"))
    return int(raw)


_LAST_CODE_POINT = chr(0x10FFFF)
_SURROGATES_START, _SURROGATES_END = 0xD800, 0xE000


def _prefix_upper_bound(prefix: str) -> str | None:
    """Return the least string above every name starting with `prefix`, None when none is.

    Binary (SQLite) and C-collated (PostgreSQL) order is code point order, so every name
    starting with `prefix` sorts below the prefix with its last character incremented. The
    last code point cannot be incremented (it is dropped and the one before it carried), and
    an increment into the surrogates skips them, since UTF-8 cannot encode a lone surrogate.
    """
    stem = prefix.rstrip(_LAST_CODE_POINT)
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if _SURROGATES_START <= following < _SURROGATES_END:
        following = _SURROGATES_END
    return stem[:-1] + chr(following)


def term_clauses(terms: SearchTerms) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if terms.name:
        # A range rather than LIKE: LIKE is case-insensitive on SQLite and skips the index.
        clauses.append(Resident.name >= terms.name)
        bound = _prefix_upper_bound(terms.name)
        if bound is not None:
            clauses.append(Resident.name < bound)
    # The LIKE patterns below are bound parameters, and parse_terms lets only digits (phone)
    # and 0-9A-Z (ID suffix) through, so no `%`, `_` or backslash from a user reaches them.
    if terms.phone:
        clauses.append(Resident.phone_tail == terms.phone[-MIN_SUFFIX:])
        if len(terms.phone) > MIN_SUFFIX:
            clauses.append(Resident.phone.like("%" + terms.phone))
    if terms.id_suffix:
        clauses.append(Resident.id_tail == terms.id_suffix[-MIN_SUFFIX:])
        if len(terms.id_suffix) > MIN_SUFFIX:
            clauses.append(Resident.id_number_hash == (terms.id_hash or ""))
    return clauses


@dataclass(frozen=True)
class ResidentSearch:
    """A resident list request: where, what, and from which cursor."""

    area: Area | None
    building: Area | None
    terms: SearchTerms
    after: int | None
    limit: int


@dataclass(frozen=True)
class ResidentItem:
    """One row of a resident list with the place and groups it shows."""

    resident: Resident
    age: int
    groups: list[Group]
    building: str
    unit: str | None
    room: str


@dataclass(frozen=True)
class ResidentPageData:
    """One keyset page of residents, the total matching, and the next cursor."""

    items: list[ResidentItem]
    total: int
    next_after: int | None


def where_clause(scope: Scope, search: ResidentSearch) -> ColumnElement[bool]:
    """Return the full filter of a search (scope, area, building, terms), cursor excluded.

    The narrowest place wins: when the building lies inside the area and the scope, its
    `building_id` equality alone is the filter, so the planner has one obvious index.
    """
    place = search.area
    if search.building is not None and (
        scope.contains(search.building)
        and (place is None or Scope.under(place).contains(search.building))
    ):
        place = search.building
    if place is None:
        clauses = [scope.residents()]
    elif scope.contains(place):
        clauses = [residents_under(place)]
    else:
        clauses = [scope.residents(), residents_under(place)]
    if search.building is not None and place is not search.building:
        clauses.append(Resident.building_id == search.building.id)
    clauses.extend(term_clauses(search.terms))
    return and_(*clauses)


def page_query(scope: Scope, search: ResidentSearch) -> Select[tuple[Resident]]:
    """Return the statement of one keyset page: filter, `id > :after`, `ORDER BY id LIMIT n+1`."""
    stmt = select(Resident).where(where_clause(scope, search))
    if search.after is not None:
        stmt = stmt.where(Resident.id > search.after)
    return stmt.order_by(Resident.id).limit(search.limit + 1)


def count_query(scope: Scope, search: ResidentSearch) -> Select[tuple[int]]:
    """Return the statement counting every match of a search (the cursor ignored)."""
    return select(func.count()).select_from(Resident).where(where_clause(scope, search))


def search_residents(
    session: Session,
    *,
    scope: Scope,
    search: ResidentSearch,
    today: date,
    elderly_age: int,
    child_age: int,
) -> ResidentPageData:
    """Return one keyset page of matching residents and how many match in all."""
    rows = list(session.scalars(page_query(scope, search)))
    more = len(rows) > search.limit
    rows = rows[: search.limit]
    total = int(session.scalar(count_query(scope, search)) or 0)
    items = _items(session, rows, today=today, elderly_age=elderly_age, child_age=child_age)
    return ResidentPageData(
        items=items, total=total, next_after=rows[-1].id if more and rows else None
    )


def resident_groups(
    resident: Resident, *, today: date, elderly_age: int, child_age: int
) -> list[Group]:
    """Return a resident's groups on `today` (elderly and child derived from age)."""
    flags = {g for g in rules.STORED_GROUPS if getattr(resident, g.value)}
    return rules.groups_of(
        born=resident.birth_date,
        flags=flags,
        today=today,
        elderly_age=elderly_age,
        child_age=child_age,
    )


def _items(
    session: Session, rows: list[Resident], *, today: date, elderly_age: int, child_age: int
) -> list[ResidentItem]:
    if not rows:
        return []
    homes = {
        h.id: h
        for h in session.scalars(
            select(Household).where(Household.id.in_({r.household_id for r in rows}))
        )
    }
    area_ids = {r.building_id for r in rows} | {h.area_id for h in homes.values()}
    names = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(area_ids)))}
    out = []
    for r in rows:
        home = homes[r.household_id]
        place = names[home.area_id]
        out.append(
            ResidentItem(
                resident=r,
                age=rules.age_on(r.birth_date, today),
                groups=resident_groups(
                    r, today=today, elderly_age=elderly_age, child_age=child_age
                ),
                building=names[r.building_id].name,
                unit=place.name if place.level == AreaLevel.UNIT else None,
                room=home.room,
            )
        )
    return out


@dataclass(frozen=True)
class Stay:
    """One residence of a resident with the address it was at."""

    residence: Residence
    address: list[Area]
    room: str


@dataclass(frozen=True)
class ResidentDetail:
    """Everything the detail page shows about one resident."""

    resident: Resident
    household: Household
    address: list[Area]
    groups: list[Group]
    age: int
    history: list[Stay]
    housemates: list[Resident]


def visible_resident(session: Session, scope: Scope, code: str) -> Resident | None:
    """Return the resident with this code when the scope may see them, else None."""
    resident = session.scalar(select(Resident).where(Resident.resident_code == code))
    if resident is None:
        return None
    household = session.get(Household, resident.household_id)
    if household is None or not scope.contains_resident(resident, household):
        return None
    return resident


def record_full_read(session: Session, *, actor: Actor, resident: Resident, now: datetime) -> None:
    """Log that a person's record page (or API record) was read by `actor`.

    The ID number and phone on it are masked unless the role needs them; each full value
    shown is logged on its own as `pii.full_display` (privacy.service.note_full_display).
    """
    household = session.get(Household, resident.household_id)
    record(
        session,
        actor=actor,
        action="registry.resident.read",
        target_type="resident",
        target_id=resident.resident_code,
        area=household.area_id if household is not None else resident.community_id,
        now=now,
    )


def open_record(
    session: Session,
    scope: Scope,
    code: str,
    *,
    actor: Actor,
    viewer: Viewer,
    reveal_id: bool,
    now: datetime,
) -> tuple[Resident, RecordView] | None:
    """Open one resident's record for a reader (page or API): None when out of their scope.

    The read is logged, then what the record shows whole is decided and each full value
    noted (`privacy.service.view_record`); asking for an ID number the role may not see
    raises `RevealRefused`.
    """
    resident = visible_resident(session, scope, code)
    if resident is None:
        return None
    record_full_read(session, actor=actor, resident=resident, now=now)
    view = view_record(
        session,
        viewer=viewer,
        target=f"resident {resident.resident_code}",
        has_phone=bool(resident.phone),
        reveal_id=reveal_id,
        area=resident.community_id,
    )
    return resident, view


def resident_detail(
    session: Session, *, resident: Resident, today: date, elderly_age: int, child_age: int
) -> ResidentDetail:
    """Gather a resident's address, groups, housemates and residence history."""
    history = residence_history(session, resident_id=resident.id)
    home_ids = {s.household_id for s in history} | {resident.household_id}
    homes = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(home_ids)))}
    area_ids: set[int] = set()
    for h in homes.values():
        area_ids |= {h.district_id, h.street_id, h.community_id, h.compound_id, h.building_id}
        area_ids.add(h.area_id)
    areas = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(area_ids)))}

    def address(home: Household) -> list[Area]:
        ids = [home.district_id, home.street_id, home.community_id, home.compound_id]
        ids += [home.building_id, home.area_id]
        return [areas[i] for i in dict.fromkeys(ids)]

    household = homes[resident.household_id]
    housemates = list(
        session.scalars(
            select(Resident)
            .where(Resident.household_id == household.id, Resident.id != resident.id)
            .order_by(Resident.id)
        )
    )
    return ResidentDetail(
        resident=resident,
        household=household,
        address=address(household),
        groups=resident_groups(resident, today=today, elderly_age=elderly_age, child_age=child_age),
        age=rules.age_on(resident.birth_date, today),
        history=[
            Stay(s, address(homes[s.household_id]), homes[s.household_id].room) for s in history
        ],
        housemates=housemates,
    )


class AreaNotVisible(LookupError):
    """The list asked for an area that does not exist or lies outside the user's scope."""


def resolve_search(
    session: Session,
    scope: Scope,
    *,
    area: str | None,
    building: str | None,
    name: str | None,
    phone: str | None,
    id_suffix: str | None,
    after: str | int | None,
    limit: int,
) -> ResidentSearch:
    """Turn the raw parameters of a list request into a checked search."""
    terms = parse_terms(name=name, phone=phone, id_suffix=id_suffix)
    if terms.id_suffix and len(terms.id_suffix) > MIN_SUFFIX:
        terms = replace(terms, id_hash=id_number_hash(session, terms.id_suffix))
    cursor = after if isinstance(after, int) else parse_after(after)
    if cursor is not None and cursor < 0:
        raise SearchError("after", "after", N_("翻页参数无效"))
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError("limit", "limit", N_("每页条数应在1到200之间"))
    where: Area | None = None
    if area and area.strip():
        where = visible_area(session, scope, area.strip())
        if where is None:
            raise AreaNotVisible(area)
    in_building: Area | None = None
    if building and building.strip():
        in_building = visible_area(session, scope, building.strip())
        if in_building is None or in_building.level != AreaLevel.BUILDING:
            raise SearchError("building", "building_unknown", N_("找不到该楼栋"))
        if where is not None and not Scope.under(where).contains(in_building):
            raise SearchError("building", "building_outside", N_("该楼栋不在所选区域内"))
    return ResidentSearch(area=where, building=in_building, terms=terms, after=cursor, limit=limit)
