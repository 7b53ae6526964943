"""Import residents from an .xlsx or .csv file: validate every row, then insert all or nothing.

The CLI (`tongxin registry import`) and the web upload page call `import_residents`. It reads
the whole file and checks every row: pure checks first (`registry.import_checks`), then
batched look-ups of buildings, units and ID numbers already registered. It writes only when
not one problem was found, set-based: one statement per batch and table. docs/import.md is
the template and lists every problem code.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from tongxin.interop.tables import TableFileError, read_sheets
from tongxin.privacy.service import key_ring
from tongxin.registry import rules
from tongxin.registry.import_checks import ImportProblem, ParsedRow, RowChecker, place_key
from tongxin.registry.import_messages import message
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import (
    ANCESTOR_COLUMNS,
    NewResident,
    RegistryError,
    add_area,
    insert_residents,
    resident_rows,
)

__all__ = ["ImportProblem", "ImportReport", "import_residents"]

# Values per IN (...) look-up: under SQLite's historic limit of 999 bound parameters.
LOOKUP_CHUNK = 900
# insert_residents reads ids back with one IN over the batch's codes; keep that under SQLite's
# 32,766-parameter limit whatever the setting says.
MAX_BATCH_ROWS = 20_000
PROGRESS_EVERY = 1000

Progress = Callable[[int, int], None]
HouseholdKey = tuple[int, str, int | None, str]  # building id, unit key, area id, room


@dataclass
class ImportReport:
    """What an import did, or every reason it did nothing."""

    source: str  # file name
    rows: int  # data rows read
    imported: int  # residents inserted (0 when problems)
    households_created: int
    problems: list[ImportProblem]
    units_created: int = 0

    @property
    def ok(self) -> bool:
        """Tell whether the file was clean (and so imported)."""
        return not self.problems

    def counts(self) -> dict[str, Any]:
        """Return what the import wrote, without any row's content (for the audit log)."""
        return {
            "source": self.source,
            "rows": self.rows,
            "imported": self.imported,
            "households_created": self.households_created,
            "units_created": self.units_created,
        }


@dataclass
class _Building:
    area_id: int
    code: str
    name: str
    compound: str
    community_id: int | None
    ancestors: dict[str, Any]
    units: dict[str, int] = field(default_factory=dict)  # place_key(unit name) -> area id


def import_residents(
    session: Session,
    *,
    source: str,
    data: bytes,
    community: Area | None = None,
    today: date,
    progress: Progress | None = None,
    batch_rows: int = 5000,
) -> ImportReport:
    """Validate every row of an import file and insert its residents only if all are valid.

    `progress(done, total)` counts row steps: each row is validated (first half of `total`)
    and then inserted (second half); a file with problems jumps to the end.
    """
    if community is not None and community.level != AreaLevel.COMMUNITY:
        raise RegistryError(
            "area_level", f"{community.code} is a {community.level}, not a community"
        )
    report = ImportReport(source=source, rows=0, imported=0, households_created=0, problems=[])
    try:
        sheets = read_sheets(source, data)
    except TableFileError as exc:
        report.problems.append(ImportProblem(0, "", "", exc.code, exc.message_zh, exc.message_en))
        return report

    checker = RowChecker(today=today, problems=report.problems)
    parsed: list[ParsedRow] = []
    estimated = sum(s.estimated_rows for s in sheets)
    for index, sheet in enumerate(sheets):
        columns = checker.columns(index, sheet, need_community=community is None)
        check = checker.row
        for number, cells in sheet.rows:
            parsed.append(check(columns, number, cells))
            if progress and len(parsed) % PROGRESS_EVERY == 0:
                progress(len(parsed), 2 * max(estimated, len(parsed)))
    report.rows = len(parsed)
    if not parsed and not report.problems:
        zh, en = message("file_no_rows")
        report.problems.append(ImportProblem(0, "", "", "file_no_rows", zh, en))

    connection = session.connection()
    buildings = _resolve_buildings(connection, checker, parsed, community)
    _check_registered_ids(connection, checker, parsed)
    total = 2 * report.rows
    if report.problems:
        report.problems.sort(key=checker.sort_key)
        if progress:
            progress(total, total)
        return report

    if progress:
        progress(report.rows, total)
    report.units_created = _create_units(session, parsed, buildings)
    households, report.households_created = _place_households(connection, parsed, buildings)
    codes = _new_resident_codes(connection, len(parsed))
    ancestors = dict(households.values())
    batch = max(1, min(batch_rows, MAX_BATCH_ROWS))
    for start in range(0, len(parsed), batch):
        chunk = parsed[start : start + batch]
        people = [
            NewResident(
                resident_code=codes[start + i],
                name=r.name,
                gender=r.gender,
                birth_date=r.birth_date,
                phone=r.phone,
                id_type=r.id_type,
                id_number=r.id_number,
                household_id=_household_id(households, r.household_key),
                registered_address=r.registered_address,
                bedridden=r.flags[0],
                disabled=r.flags[1],
                pregnant=r.flags[2],
                key_group=r.flags[3],
                no_smartphone=r.flags[4],
                status=r.status,
                status_since=r.status_since,
            )
            for i, r in enumerate(chunk)
        ]
        # The template has no move-in date, so the first stay starts on an unknown day.
        insert_residents(connection, resident_rows(people, ancestors), moved_in=None)
        report.imported += len(chunk)
        if progress:
            progress(report.rows + report.imported, total)
    return report


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_buildings(connection: Connection, where: Any) -> list[_Building]:
    columns = [getattr(Area, c) for c in ANCESTOR_COLUMNS]
    found = connection.execute(
        select(Area.id, Area.code, Area.name, *columns).where(
            Area.level == AreaLevel.BUILDING.value, where
        )
    ).all()
    compound_ids = sorted({r.compound_id for r in found if r.compound_id is not None})
    compound_names: dict[int, str] = {}
    for chunk in _chunks(compound_ids):
        compound_names.update(
            connection.execute(select(Area.id, Area.name).where(Area.id.in_(chunk))).tuples().all()
        )
    return [
        _Building(
            area_id=r.id,
            code=r.code,
            name=r.name,
            compound=compound_names.get(r.compound_id, ""),
            community_id=r.community_id,
            ancestors={c: getattr(r, c) for c in ANCESTOR_COLUMNS},
        )
        for r in found
    ]


def _resolve_buildings(
    connection: Connection,
    checker: RowChecker,
    parsed: list[ParsedRow],
    community: Area | None,
) -> dict[int, _Building]:
    """Find each row's building (by code, or by names under the community) and its unit."""
    codes = sorted({r.building_code for r in parsed if r.building_code})
    by_code: dict[str, _Building] = {}
    other_levels: dict[str, str] = {}
    for chunk in _chunks(codes):
        by_code.update((b.code, b) for b in _load_buildings(connection, Area.code.in_(chunk)))
        missing = [c for c in chunk if c not in by_code]
        if missing:
            other_levels.update(
                connection.execute(select(Area.code, Area.level).where(Area.code.in_(missing)))
                .tuples()
                .all()
            )
    by_names: dict[tuple[str, str], list[_Building]] = {}
    by_name: dict[str, list[_Building]] = {}
    if community is not None and any(r.building and not r.building_code for r in parsed):
        for b in _load_buildings(connection, Area.community_id == community.id):
            by_names.setdefault((place_key(b.compound), place_key(b.name)), []).append(b)
            by_name.setdefault(place_key(b.name), []).append(b)

    buildings: dict[int, _Building] = {}
    for r in parsed:
        found: _Building | None = None
        if r.building_code:
            found = by_code.get(r.building_code)
            if found is None:
                level = other_levels.get(r.building_code)
                checker.add(
                    r,
                    "building_code",
                    r.building_code,
                    "building_unknown",
                    template="building_not_building" if level else None,
                    level=level or "",
                )
            elif community is not None and found.community_id != community.id:
                checker.add(
                    r,
                    "building_code",
                    r.building_code,
                    "building_outside_community",
                    community=community.name,
                )
                found = None
            elif (r.building and place_key(r.building) != place_key(found.name)) or (
                r.compound and place_key(r.compound) != place_key(found.compound)
            ):
                checker.add(
                    r,
                    "building" if r.building else "compound",
                    r.building or r.compound,
                    "building_mismatch",
                    found_code=found.code,
                    place=f"{found.compound}{found.name}",
                )
                found = None
        elif r.building and community is not None:
            key = place_key(r.building)
            matches = (
                by_names.get((place_key(r.compound), key), [])
                if r.compound
                else (by_name.get(key, []))
            )
            if len(matches) == 1:
                found = matches[0]
            elif not matches:
                checker.add(
                    r,
                    "building",
                    r.building,
                    "building_unknown",
                    template="building_unknown_by_name",
                    place=f"{r.compound}{r.building}",
                    community=community.name,
                )
            else:
                checker.add(
                    r, "building", r.building, "building_ambiguous", community=community.name
                )
        if found is not None:
            r.building_id = found.area_id
            buildings[found.area_id] = found

    _load_units(connection, buildings)
    for r in parsed:
        if r.building_id is None or not r.room:
            continue
        b = buildings[r.building_id]
        if r.unit:
            unit_key = place_key(r.unit)
            r.household_key = (r.building_id, unit_key, b.units.get(unit_key), r.room)
        elif b.units:
            checker.add(r, "unit", "", "unit_required", building=f"{b.compound}{b.name}")
        else:
            r.household_key = (r.building_id, "", r.building_id, r.room)
    return buildings


def _load_units(connection: Connection, buildings: dict[int, _Building]) -> None:
    for chunk in _chunks(sorted(buildings)):
        for unit_id, name, building_id in connection.execute(
            select(Area.id, Area.name, Area.building_id).where(
                Area.level == AreaLevel.UNIT.value, Area.building_id.in_(chunk)
            )
        ).tuples():
            if building_id is not None:
                buildings[building_id].units[place_key(name)] = unit_id


def _check_registered_ids(
    connection: Connection, checker: RowChecker, parsed: list[ParsedRow]
) -> None:
    """Report rows whose ID number is already registered, looked up in IN (...) chunks."""
    by_type: dict[str, dict[str, ParsedRow]] = {}
    ring = key_ring(connection)
    for r in parsed:
        if r.id_ok:  # a repeat inside the file is reported already; look up its first row only
            by_type.setdefault(r.id_type, {}).setdefault(ring.lookup_hash(r.id_number), r)
    for id_type, rows in by_type.items():
        # Sealed numbers cannot be compared; their keyed hashes can (and are indexed).
        for chunk in _chunks(sorted(rows)):
            for hashed, code in connection.execute(
                select(Resident.id_number_hash, Resident.resident_code).where(
                    Resident.id_type == id_type, Resident.id_number_hash.in_(chunk)
                )
            ).tuples():
                row = rows[hashed]
                checker.add(
                    row, "id_number", row.id_number, "id_duplicate_in_db", resident_code=code
                )


def _create_units(
    session: Session, parsed: list[ParsedRow], buildings: dict[int, _Building]
) -> int:
    """Create the units a file names under known buildings; return how many."""
    wanted: dict[tuple[int, str], str] = {}
    for r in parsed:
        assert r.household_key is not None
        building_id, unit_key, area_id, _room = r.household_key
        if unit_key and area_id is None:
            wanted.setdefault((building_id, unit_key), r.unit)
    for (building_id, unit_key), name in wanted.items():
        building = session.get(Area, building_id)
        assert building is not None
        # autoescape: a `_` or `%` in a building code is a literal, not a LIKE wildcard.
        under = Area.code.startswith(f"{building.code}-", autoescape=True)
        taken = set(session.scalars(select(Area.code).where(under)))
        code = f"{building.code}-{unit_key}" if unit_key.isdigit() else ""
        n = 1
        while not code or code in taken:
            code, n = f"{building.code}-U{n}", n + 1
        unit = add_area(session, code=code, name=name, level=AreaLevel.UNIT, parent=building)
        buildings[building_id].units[unit_key] = unit.id
    if wanted:
        for r in parsed:
            assert r.household_key is not None
            building_id, unit_key, area_id, room = r.household_key
            if unit_key and area_id is None:
                unit_id = buildings[building_id].units[unit_key]
                r.household_key = (building_id, unit_key, unit_id, room)
    return len(wanted)


def _place_households(
    connection: Connection, parsed: list[ParsedRow], buildings: dict[int, _Building]
) -> tuple[dict[HouseholdKey, tuple[int, dict[str, Any]]], int]:
    """Map each row to its household id and ancestors, inserting missing households in one go."""
    wanted: dict[tuple[int, str], int] = {}  # (area id, room) -> building id
    for r in parsed:
        assert r.household_key is not None and r.household_key[2] is not None
        wanted[(r.household_key[2], r.room)] = r.household_key[0]
    area_ids = sorted({area_id for area_id, _room in wanted})

    def existing() -> dict[tuple[int, str], int]:
        found: dict[tuple[int, str], int] = {}
        for chunk in _chunks(area_ids):
            for hid, area_id, room in connection.execute(
                select(Household.id, Household.area_id, Household.room).where(
                    Household.area_id.in_(chunk)
                )
            ).tuples():
                if (area_id, room) in wanted:
                    found[(area_id, room)] = hid
        return found

    ids = existing()
    missing = [
        {"area_id": area_id, "room": room, **buildings[building_id].ancestors}
        for (area_id, room), building_id in wanted.items()
        if (area_id, room) not in ids
    ]
    if missing:
        connection.execute(insert(Household), missing)
        ids = existing()
    out: dict[HouseholdKey, tuple[int, dict[str, Any]]] = {}
    for r in parsed:
        key = r.household_key
        assert key is not None and key[2] is not None
        if key not in out:
            out[key] = (ids[(key[2], key[3])], buildings[key[0]].ancestors)
    return out, len(missing)


def _new_resident_codes(connection: Connection, count: int) -> list[str]:
    """Draw `count` distinct resident codes from a secure 40-bit source, unused in the database."""
    chosen: set[str] = set()
    codes: list[str] = []
    while len(codes) < count:
        drawn = sorted(
            {rules.resident_code(secrets.randbits(40)) for _ in range(count - len(codes))} - chosen
        )
        taken: set[str] = set()
        for chunk in _chunks(drawn):
            taken.update(
                connection.scalars(
                    select(Resident.resident_code).where(Resident.resident_code.in_(chunk))
                )
            )
        fresh = [c for c in drawn if c not in taken]
        chosen.update(fresh)
        codes.extend(fresh)
    return codes[:count]


def _household_id(
    households: dict[HouseholdKey, tuple[int, dict[str, Any]]], key: HouseholdKey | None
) -> int:
    # Every row that passed the checks was placed in a household by _place_households.
    assert key is not None
    return households[key][0]
