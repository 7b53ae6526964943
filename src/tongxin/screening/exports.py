"""Per-building lists for community workers: who is still untested, and who needs a home visit.

Each workbook has a 说明 sheet (round, area, when, counts) and one sheet per building that
has anyone to list, with Chinese headers, ordered as people walk the building (unit, room).
The residents come from one query ordered by building (an anti-join against the round's
swabs), written with openpyxl's write-only mode, so memory holds one building at a time.
Phones are shown in full because the list exists to call people; ID numbers are masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tongxin.interop.tables import NOTES_SHEET
from tongxin.interop.xlsx import WorkbookWriter
from tongxin.privacy.rules import Detail, mask_id_number
from tongxin.privacy.service import Viewer, export_stamp, note_full_display
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel, age_on
from tongxin.screening.coverage import tested_clause, under
from tongxin.screening.models import Round


class ListKind(StrEnum):
    """Which residents a list names."""

    UNTESTED = "untested"
    DOOR_TO_DOOR = "door-to-door"


TITLES = {
    ListKind.UNTESTED: ("未检测居民名单", "untested present residents"),
    ListKind.DOOR_TO_DOOR: ("上门采样名单(卧床、残疾,未检测)", "door-to-door list"),
}
HEADERS = (
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "年龄",
    "联系电话",
    "证件号码",
    "居民码",
    "特殊情况",
)
_WIDTHS = (14, 8, 8, 8, 10, 6, 6, 14, 14, 12, 24)
_GENDER = {"M": "男", "F": "女"}


class ExportError(ValueError):
    """An export that cannot be made; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ListSummary:
    """What a list export wrote."""

    kind: str
    round: str
    area_code: str
    buildings: int
    residents: int


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key that puts '2' before '10' and '2单元' before '10单元'."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def _needs(r: Any) -> str:
    flags = [
        ("卧床", r.bedridden),
        ("残疾", r.disabled),
        ("孕妇", r.pregnant),
        ("重点人群", r.key_group),
        ("无智能手机", r.no_smartphone),
    ]
    return "、".join(label for label, on in flags if on)


def export_list(
    session: Session,
    *,
    round_id: int,
    area: Area,
    kind: ListKind,
    out: str | Path | IO[bytes],
    now: datetime,
    exported_by: Viewer,
) -> ListSummary:
    """Write the untested present residents under `area` (or those needing a home visit).

    Phones are whole (the list is for calling and visiting people, and each export is noted
    as a full display); ID numbers are masked.
    """
    if area.level == AreaLevel.UNIT.value:
        raise ExportError("export_level", "export a building or an area above it, not a unit")
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise ExportError("unknown_round", f"no round with id {round_id}")
    unit = aliased(Area)
    building = aliased(Area)
    compound = aliased(Area)
    query = (
        select(
            Resident.building_id,
            compound.name.label("compound"),
            building.name.label("building"),
            unit.name.label("unit"),
            unit.level.label("unit_level"),
            Household.room,
            Resident.id,
            Resident.name,
            Resident.gender,
            Resident.birth_date,
            Resident.phone,
            Resident.id_number,
            Resident.resident_code,
            Resident.bedridden,
            Resident.disabled,
            Resident.pregnant,
            Resident.key_group,
            Resident.no_smartphone,
        )
        .join(Household, Household.id == Resident.household_id)
        .join(unit, unit.id == Household.area_id)
        .join(building, building.id == Resident.building_id)
        .outerjoin(compound, compound.id == Resident.compound_id)
        .where(*under(area), Resident.status == "present", ~tested_clause(round_id))
        .order_by(Resident.building_id, Resident.id)
        .execution_options(yield_per=2000)
    )
    if kind == ListKind.DOOR_TO_DOOR:
        query = query.where(Resident.bedridden | Resident.disabled)

    writer = WorkbookWriter()
    zh, en = TITLES[kind]
    title = f"{rnd.name}({rnd.code}) {area.name}({area.code}){zh} / {en}"
    writer.stamp(by=exported_by.username, at=now, title=title)
    notes = writer.add_sheet(NOTES_SHEET)
    writer.append(notes, [title])
    writer.append(notes, [export_stamp(exported_by, now)])
    today = now.date()
    buildings = 0
    written = 0
    group: list[Any] = []

    def flush() -> None:
        nonlocal buildings, written
        if not group:
            return
        first = group[0]
        sheet = writer.add_sheet(f"{first.compound or ''}{first.building}")
        writer.header(sheet, HEADERS, _WIDTHS)
        group.sort(
            key=lambda r: (
                _natural(r.unit if r.unit_level == AreaLevel.UNIT.value else ""),
                _natural(r.room),
                r.id,
            )
        )
        for r in group:
            writer.append(
                sheet,
                (
                    first.compound or "",
                    first.building,
                    r.unit if r.unit_level == AreaLevel.UNIT.value else "",
                    r.room,
                    r.name,
                    _GENDER.get(r.gender, r.gender),
                    age_on(r.birth_date, today),
                    r.phone or "",
                    mask_id_number(r.id_number),
                    r.resident_code,
                    _needs(r),
                ),
            )
        buildings += 1
        written += len(group)
        group.clear()

    for row in session.execute(query):
        if group and group[0].building_id != row.building_id:
            flush()
        group.append(row)
    flush()
    writer.append(notes, [f"楼栋 Buildings: {buildings}  居民 Residents: {written}"])
    if not written:
        writer.append(notes, ["没有需要列出的居民。 Nobody to list."])
    writer.save(out)
    if written:
        note_full_display(
            session,
            viewer=exported_by,
            what=Detail.PHONE,
            target=f"{kind.value} list of {area.code} in round {rnd.code}",
            count=written,
            area=area.id,
        )
    return ListSummary(
        kind=kind.value, round=rnd.code, area_code=area.code, buildings=buildings, residents=written
    )
