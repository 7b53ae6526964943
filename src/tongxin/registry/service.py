"""Registry use cases: build the area tree, place households, add, move and find residents.

Services flush but never commit: the caller (web dependency or CLI command) owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from tongxin.privacy.service import add_id_hashes
from tongxin.registry import rules
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.rules import AreaLevel

ANCESTOR_COLUMNS = ("district_id", "street_id", "community_id", "compound_id", "building_id")
_LEVEL_COLUMN = {
    AreaLevel.DISTRICT: "district_id",
    AreaLevel.STREET: "street_id",
    AreaLevel.COMMUNITY: "community_id",
    AreaLevel.COMPOUND: "compound_id",
    AreaLevel.BUILDING: "building_id",
}


class RegistryError(ValueError):
    """A registry request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def level_column(level: AreaLevel) -> str | None:
    """Return the ancestor column that holds areas of this level (None for units)."""
    return _LEVEL_COLUMN.get(level)


def add_area(
    session: Session,
    *,
    code: str,
    name: str,
    level: AreaLevel,
    parent: Area | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Area:
    """Create an area under `parent`, copying the parent's ancestor ids."""
    if not rules.may_contain(AreaLevel(parent.level) if parent else None, level):
        raise RegistryError(
            "area_level", f"a {level} cannot sit under {parent.level if parent else 'nothing'}"
        )
    area = Area(
        code=code,
        name=name,
        level=level.value,
        parent_id=parent.id if parent else None,
        latitude=latitude,
        longitude=longitude,
    )
    for col in ANCESTOR_COLUMNS:
        setattr(area, col, getattr(parent, col) if parent else None)
    session.add(area)
    session.flush()
    own = level_column(level)
    if own:
        setattr(area, own, area.id)
    session.flush()
    return area


def area_by_code(session: Session, code: str) -> Area:
    """Return the area with this code or raise RegistryError."""
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise RegistryError("area_unknown", f"no area with code {code!r}")
    return area


def add_household(session: Session, *, area: Area, room: str) -> Household:
    """Create a household in a unit or building."""
    if area.level not in (AreaLevel.UNIT, AreaLevel.BUILDING):
        raise RegistryError("household_area", "a household lives in a building or a unit")
    assert area.building_id is not None
    household = Household(area_id=area.id, room=room, **_ancestors(area))
    session.add(household)
    session.flush()
    return household


def _ancestors(area: Area) -> dict[str, Any]:
    return {col: getattr(area, col) for col in ANCESTOR_COLUMNS}


@dataclass(frozen=True)
class NewResident:
    """A validated resident ready to insert."""

    resident_code: str
    name: str
    gender: str
    birth_date: date
    phone: str | None
    id_type: str
    id_number: str
    household_id: int
    registered_address: str | None = None
    bedridden: bool = False
    disabled: bool = False
    pregnant: bool = False
    key_group: bool = False
    no_smartphone: bool = False
    status: str = rules.ResidentStatus.PRESENT.value
    status_since: date | None = None


def resident_rows(
    residents: Iterable[NewResident], households: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Turn new residents into insert rows, adding tails and the household's ancestors."""
    rows = []
    for r in residents:
        row = {
            "resident_code": r.resident_code,
            "name": r.name,
            "gender": r.gender,
            "birth_date": r.birth_date,
            "phone": r.phone,
            "phone_tail": rules.tail(r.phone),
            "id_type": r.id_type,
            "id_number": r.id_number,
            "id_tail": rules.tail(r.id_number) or "",
            "registered_address": r.registered_address,
            "household_id": r.household_id,
            "bedridden": r.bedridden,
            "disabled": r.disabled,
            "pregnant": r.pregnant,
            "key_group": r.key_group,
            "no_smartphone": r.no_smartphone,
            "status": r.status,
            "status_since": r.status_since,
        }
        row.update(households[r.household_id])
        rows.append(row)
    return rows


def insert_residents(
    connection: Connection, rows: Sequence[dict[str, Any]], *, moved_in: date | None
) -> None:
    """Insert residents and their first residence, one statement per table per batch."""
    if not rows:
        return
    rows = [dict(r) for r in rows]
    add_id_hashes(connection, rows)
    connection.execute(insert(Resident), rows)
    codes = [r["resident_code"] for r in rows]
    ids: dict[str, int] = {
        code: rid
        for code, rid in connection.execute(
            select(Resident.resident_code, Resident.id).where(Resident.resident_code.in_(codes))
        )
    }
    now = datetime.now(UTC)
    connection.execute(
        insert(Residence),
        [
            {
                "resident_id": ids[r["resident_code"]],
                "household_id": r["household_id"],
                "moved_in": moved_in,
                "moved_out": None,
                "recorded_at": now,
            }
            for r in rows
        ],
    )


def household_ancestors(
    connection: Connection, household_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """Return each household's ancestor ids, keyed by household id."""
    ids = list(set(household_ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for row in connection.execute(
            select(Household.id, *[getattr(Household, c) for c in ANCESTOR_COLUMNS]).where(
                Household.id.in_(chunk)
            )
        ).mappings():
            out[row["id"]] = {c: row[c] for c in ANCESTOR_COLUMNS}
    return out


def move_resident(
    session: Session, *, resident: Resident, household: Household, on: date
) -> Residence:
    """Move a resident to another household, closing the current stay so history is kept."""
    if resident.household_id == household.id:
        raise RegistryError("move_same_household", "the resident already lives there")
    session.execute(
        update(Residence)
        .where(Residence.resident_id == resident.id, Residence.moved_out.is_(None))
        .values(moved_out=on)
    )
    resident.household_id = household.id
    for col in ANCESTOR_COLUMNS:
        setattr(resident, col, getattr(household, col))
    stay = Residence(
        resident_id=resident.id,
        household_id=household.id,
        moved_in=on,
        moved_out=None,
        recorded_at=datetime.now(UTC),
    )
    session.add(stay)
    session.flush()
    return stay


def residence_history(session: Session, *, resident_id: int) -> list[Residence]:
    """Return a resident's stays, oldest first."""
    return list(
        session.scalars(
            select(Residence).where(Residence.resident_id == resident_id).order_by(Residence.id)
        )
    )


def count_residents_under(session: Session, *, area: Area) -> int:
    """Count the residents living anywhere under an area."""
    col = level_column(AreaLevel(area.level))
    if col is None:
        return int(
            session.scalar(
                select(func.count(Resident.id))
                .join(Household, Household.id == Resident.household_id)
                .where(Household.area_id == area.id)
            )
            or 0
        )
    return int(session.scalar(select(func.count()).where(getattr(Resident, col) == area.id)) or 0)
