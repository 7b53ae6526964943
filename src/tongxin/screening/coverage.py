"""Coverage of a round: tested and untested present residents per area node.

One GROUP BY on the residents' denormalised ancestor column of the child level, with an
EXISTS probe into `swabs` on its (round_id, resident_id) index per resident: no walk down
the tree and no per-row Python. A resident counts as tested once any accepted swab of the
round names them, whichever tube it went into.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session

from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel, child_level
from tongxin.registry.service import level_column
from tongxin.screening.models import Swab

# Ancestor columns of `residents` that lead an index (see registry.models.Resident).
_INDEXED = ("district_id", "street_id", "community_id", "building_id")


@dataclass(frozen=True)
class CoverageRow:
    """One area node's present residents, split into tested and untested."""

    code: str
    name: str
    level: str
    present: int
    tested: int

    @property
    def untested(self) -> int:
        """Return the present residents with no swab in the round."""
        return self.present - self.tested

    def as_json(self) -> dict[str, object]:
        """Return the row as the CLI prints it."""
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "present": self.present,
            "tested": self.tested,
            "untested": self.untested,
        }


def tested_clause(round_id: int) -> ColumnElement[bool]:
    """Return the EXISTS that tells whether a resident has a swab in the round."""
    return exists().where(Swab.round_id == round_id, Swab.resident_id == Resident.id)


def under(area: Area) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses for residents living under `area`, led by an indexed column."""
    col = level_column(AreaLevel(area.level))
    if col is None:
        return [Resident.household_id.in_(select(Household.id).where(Household.area_id == area.id))]
    clauses: list[ColumnElement[bool]] = [getattr(Resident, col) == area.id]
    if col not in _INDEXED and area.community_id is not None:
        # Compounds have no index of their own: narrow to the community's range first.
        clauses.append(Resident.community_id == area.community_id)
    return clauses


def coverage(session: Session, *, round_id: int, area: Area) -> list[CoverageRow]:
    """Count tested and untested present residents for each child node of `area`.

    A node whose residents live in households attached to it directly (a building without
    units) gets a row of its own after its children.
    """
    children = list(
        session.scalars(select(Area).where(Area.parent_id == area.id).order_by(Area.code))
    )
    below = child_level(AreaLevel(area.level))
    child_col = level_column(below) if below is not None else None
    tested = func.coalesce(func.sum(case((tested_clause(round_id), 1), else_=0)), 0)
    key = getattr(Resident, child_col) if child_col is not None else Household.area_id
    stmt = (
        select(key, func.count(), tested)
        .select_from(Resident)
        .where(*under(area), Resident.status == "present")
    )
    if child_col is None:
        stmt = stmt.join(Household, Household.id == Resident.household_id)
    counts = {int(k): (int(n), int(t)) for k, n, t in session.execute(stmt.group_by(key))}
    rows = [CoverageRow(c.code, c.name, c.level, *counts.pop(c.id, (0, 0))) for c in children]
    if area.id in counts:
        rows.append(CoverageRow(area.code, area.name, area.level, *counts.pop(area.id)))
    return rows


def total(rows: list[CoverageRow]) -> dict[str, int]:
    """Sum coverage rows into the node's own totals."""
    present = sum(r.present for r in rows)
    tested_n = sum(r.tested for r in rows)
    return {"present": present, "tested": tested_n, "untested": present - tested_n}
