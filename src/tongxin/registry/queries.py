"""Registry reads for pages and the API: jurisdiction scope and the area tree with counts.

Counts are written for millions of residents: each level is one GROUP BY on an indexed,
denormalised ancestor column, never a walk down the tree. Resident search is in search.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import level_column

# Ancestor columns of `residents` that carry an index led by them (see models.Resident).
_INDEXED_RESIDENT_COLUMNS = frozenset({"district_id", "street_id", "community_id", "building_id"})


@dataclass(frozen=True)
class Scope:
    """What one user may see: the whole tree, nothing, or one node and everything below it."""

    root: Area | None = None
    whole: bool = False

    @classmethod
    def everything(cls) -> Scope:
        """Return the scope of a system-wide user."""
        return cls(root=None, whole=True)

    @classmethod
    def nothing(cls) -> Scope:
        """Return the scope of a user who may see no registry data."""
        return cls(root=None, whole=False)

    @classmethod
    def under(cls, area: Area) -> Scope:
        """Return the scope of a user whose jurisdiction is `area`."""
        return cls(root=area, whole=False)

    def contains(self, area: Area) -> bool:
        """Tell whether an area lies inside the scope."""
        if self.whole:
            return True
        if self.root is None:
            return False
        return _is_within(area, self.root)

    def contains_resident(self, resident: Resident, household: Household) -> bool:
        """Tell whether a resident (living in `household`) lies inside the scope."""
        if self.whole:
            return True
        if self.root is None:
            return False
        col = level_column(AreaLevel(self.root.level))
        if col is None:
            return household.area_id == self.root.id
        return bool(getattr(resident, col) == self.root.id)

    def residents(self) -> ColumnElement[bool]:
        """Return the WHERE clause that keeps residents inside the scope."""
        if self.whole:
            return true()
        if self.root is None:
            return false()
        return residents_under(self.root)


def _is_within(area: Area, root: Area) -> bool:
    if area.id == root.id:
        return True
    col = level_column(AreaLevel(root.level))
    if col is None:
        # A unit has no children of its own level column; only itself is inside.
        return False
    return bool(getattr(area, col) == root.id)


def residents_under(area: Area) -> ColumnElement[bool]:
    """Return the WHERE clause for residents living anywhere under `area`."""
    col = level_column(AreaLevel(area.level))
    if col is None:
        return Resident.household_id.in_(select(Household.id).where(Household.area_id == area.id))
    return getattr(Resident, col) == area.id


def scope_roots(session: Session, scope: Scope) -> list[Area]:
    """Return the top nodes a scope shows: its root, or every district of a whole scope."""
    if scope.root is not None:
        return [scope.root]
    if not scope.whole:
        return []
    return list(session.scalars(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)))


def visible_area(session: Session, scope: Scope, code: str) -> Area | None:
    """Return the area with this code when the scope may see it, else None."""
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None or not scope.contains(area):
        return None
    return area


def breadcrumb(session: Session, scope: Scope, area: Area) -> list[Area]:
    """Return the path from the scope's root down to `area`, both included."""
    ids = [getattr(area, c) for c in ("district_id", "street_id", "community_id")]
    ids += [area.compound_id, area.building_id, area.parent_id, area.id]
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    found = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(wanted)))}
    path = [found[i] for i in wanted if i in found]
    return [a for a in path if scope.contains(a)]


@dataclass(frozen=True)
class AreaCount:
    """An area and the number of residents living under it."""

    area: Area
    residents: int


def area_counts(session: Session, areas: Sequence[Area]) -> list[AreaCount]:
    """Count residents under each area, one indexed statement per level."""
    by_level: dict[str, list[Area]] = {}
    for a in areas:
        by_level.setdefault(a.level, []).append(a)
    counts: dict[int, int] = {}
    for level, group in by_level.items():
        counts.update(_counts_for_level(session, AreaLevel(level), group))
    return [AreaCount(a, counts.get(a.id, 0)) for a in areas]


def _counts_for_level(session: Session, level: AreaLevel, areas: list[Area]) -> dict[int, int]:
    ids = [a.id for a in areas]
    col_name = level_column(level)
    if col_name is None:
        # Units carry no ancestor column on residents; count through their households.
        stmt = (
            select(Household.area_id, func.count(Resident.id))
            .join(Resident, Resident.household_id == Household.id)
            .where(Household.area_id.in_(ids))
            .group_by(Household.area_id)
        )
        return {int(k): int(n) for k, n in session.execute(stmt)}
    col = getattr(Resident, col_name)
    if col_name in _INDEXED_RESIDENT_COLUMNS:
        # An IN-list on the leading index column counts from the index alone.
        stmt = select(col, func.count()).where(col.in_(ids)).group_by(col)
        return {int(k): int(n) for k, n in session.execute(stmt)}
    # Compounds have no index of their own: group inside the parent community's range.
    parents = {a.community_id for a in areas}
    stmt = (
        select(col, func.count())
        .where(Resident.community_id.in_(parents), col.in_(ids))
        .group_by(col)
    )
    return {int(k): int(n) for k, n in session.execute(stmt)}


@dataclass(frozen=True)
class HouseholdView:
    """A household of a unit or building with the people living in it."""

    household: Household
    residents: list[Resident]


@dataclass(frozen=True)
class AreaView:
    """One node of the tree as the home page shows it."""

    area: Area
    residents: int
    children: list[AreaCount]
    households: list[HouseholdView] = field(default_factory=list)


def area_view(session: Session, *, area: Area) -> AreaView:
    """Return an area with its children's resident counts, and households where people live."""
    children = list(
        session.scalars(select(Area).where(Area.parent_id == area.id).order_by(Area.code))
    )
    counted = area_counts(session, children)
    households: list[HouseholdView] = []
    if area.level in (AreaLevel.BUILDING, AreaLevel.UNIT):
        households = _households_of(session, area)
    total = sum(c.residents for c in counted) + sum(len(h.residents) for h in households)
    return AreaView(area=area, residents=total, children=counted, households=households)


def _households_of(session: Session, area: Area) -> list[HouseholdView]:
    homes = list(
        session.scalars(
            select(Household).where(Household.area_id == area.id).order_by(Household.room)
        )
    )
    if not homes:
        return []
    people: dict[int, list[Resident]] = {h.id: [] for h in homes}
    for r in session.scalars(
        select(Resident)
        .where(Resident.household_id.in_(list(people)))
        .order_by(Resident.household_id, Resident.id)
    ):
        people[r.household_id].append(r)
    return [HouseholdView(h, people[h.id]) for h in homes]


@dataclass(frozen=True)
class BuildingChoice:
    """A building as a search form offers it: its code and a label naming its compound."""

    code: str
    label: str


def buildings_under(session: Session, area: Area) -> list[BuildingChoice]:
    """Return the buildings of a community or compound, for a search form's chooser."""
    col = level_column(AreaLevel(area.level))
    if area.level not in (AreaLevel.COMMUNITY, AreaLevel.COMPOUND) or col is None:
        return []
    places = list(
        session.scalars(
            select(Area)
            .where(
                getattr(Area, col) == area.id,
                Area.level.in_([AreaLevel.COMPOUND.value, AreaLevel.BUILDING.value]),
            )
            .order_by(Area.code)
        )
    )
    compounds = {a.id: a.name for a in places if a.level == AreaLevel.COMPOUND}
    return [
        BuildingChoice(
            code=b.code,
            label=b.name
            if area.level == AreaLevel.COMPOUND
            else f"{compounds.get(b.compound_id or 0, '')} {b.name}".strip(),
        )
        for b in places
        if b.level == AreaLevel.BUILDING
    ]


def communities_in(session: Session, scope: Scope) -> list[Area]:
    """Return the communities inside a scope, for the import page's chooser."""
    stmt = select(Area).where(Area.level == AreaLevel.COMMUNITY.value).order_by(Area.code)
    if scope.root is not None:
        col = level_column(AreaLevel(scope.root.level))
        if col is None:
            return []
        stmt = stmt.where(getattr(Area, col) == scope.root.id)
    elif not scope.whole:
        return []
    return list(session.scalars(stmt))
