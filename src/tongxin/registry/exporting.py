"""Export the residents of an area to .xlsx: one sheet per building, in the import template.

The data sheets carry exactly the import template's headers, so an export re-imports as it
is. The title (which area, when) goes on a separate 说明 sheet that the import skips.
Residents are read in one query ordered by building and written with openpyxl's write-only
mode, so only one building's rows are held in memory at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tongxin.interop.tables import NOTES_SHEET
from tongxin.interop.xlsx import WorkbookWriter
from tongxin.privacy.rules import Detail
from tongxin.privacy.service import Viewer, export_stamp, note_full_display
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import RegistryError, level_column
from tongxin.registry.template import COLUMN_BY_KEY, GENDER_ZH, ID_TYPE_ZH, STATUS_ZH

# Column order of the data sheets; the headers are the template's Chinese ones.
EXPORT_KEYS = (
    "compound",
    "building",
    "building_code",
    "unit",
    "room",
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "phone",
    "registered_address",
    "bedridden",
    "disabled",
    "pregnant",
    "key_group",
    "no_smartphone",
    "status",
    "status_since",
)
EXPORT_HEADERS = tuple(COLUMN_BY_KEY[k].zh for k in EXPORT_KEYS)
_WIDTHS = (14, 8, 22, 8, 8, 10, 6, 12, 12, 22, 14, 30, 6, 6, 6, 8, 10, 8, 12)
_YES_NO = ("否", "是")


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    area_code: str
    buildings: int
    residents: int


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key that puts '2' before '10' and '2单元' before '10单元'."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def export_residents(
    session: Session,
    *,
    area: Area,
    out: str | Path | IO[bytes],
    now: datetime,
    exported_by: Viewer,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the residents under `area` (a building or any level above) to an .xlsx file.

    The file carries full ID numbers and phones, because it must re-import (the import
    checks and matches people by their number); each export is noted as a full display.
    """
    column_name = level_column(AreaLevel(area.level))
    if column_name is None:
        raise RegistryError("export_level", "export a building or an area above it, not a unit")
    level_filter = getattr(Area, column_name) == area.id
    buildings = list(
        session.execute(
            select(Area.id, Area.code, Area.name, Area.compound_id)
            .where(Area.level == AreaLevel.BUILDING.value, level_filter)
            .order_by(Area.id)  # the order the residents query below walks them in
        ).tuples()
    )
    compounds = dict(
        session.execute(
            select(Area.id, Area.name).where(Area.level == AreaLevel.COMPOUND.value, level_filter)
        )
        .tuples()
        .all()
    )
    if area.level == AreaLevel.BUILDING.value:
        compounds.update(
            session.execute(select(Area.id, Area.name).where(Area.id == area.compound_id))
            .tuples()
            .all()
        )
    total = int(
        session.scalar(select(func.count()).where(getattr(Resident, column_name) == area.id)) or 0
    )

    writer = WorkbookWriter()
    title = f"{area.name}({area.code})居民名单 / Residents of {area.name}"
    writer.stamp(by=exported_by.username, at=now, title=title)
    notes = writer.add_sheet(NOTES_SHEET)
    writer.append(notes, [title])
    writer.append(notes, [export_stamp(exported_by, now)])
    writer.append(notes, [f"楼栋 Buildings: {len(buildings)}  居民 Residents: {total}"])
    writer.append(
        notes,
        [
            "每个楼栋一个工作表,列名与导入模板相同,可直接重新导入;导入时跳过本“说明”工作表。",
        ],
    )
    writer.append(
        notes,
        [
            "One sheet per building with the import template's headers, so the file re-imports "
            "as it is; the import skips this 说明 sheet.",
        ],
    )

    unit = aliased(Area)
    query = (
        select(
            Resident.building_id,
            unit.name,
            unit.level,
            Household.room,
            Resident.id,
            Resident.name,
            Resident.gender,
            Resident.birth_date,
            Resident.id_type,
            Resident.id_number,
            Resident.phone,
            Resident.registered_address,
            Resident.bedridden,
            Resident.disabled,
            Resident.pregnant,
            Resident.key_group,
            Resident.no_smartphone,
            Resident.status,
            Resident.status_since,
        )
        .join(Household, Household.id == Resident.household_id)
        .join(unit, unit.id == Household.area_id)
        .where(getattr(Resident, column_name) == area.id)
        .order_by(Resident.building_id, Resident.id)
        .execution_options(yield_per=2000)
    )
    rows = iter(session.execute(query).tuples())
    pending = next(rows, None)
    written = 0
    for building_id, code, name, compound_id in buildings:
        compound = compounds.get(compound_id, "") if compound_id is not None else ""
        sheet = writer.add_sheet(f"{compound}{name}")
        writer.header(sheet, EXPORT_HEADERS, _WIDTHS)
        group = []
        while pending is not None and pending[0] == building_id:
            group.append(pending)
            pending = next(rows, None)
        # A building's residents fit in memory; order them as people walk the building.
        group.sort(key=lambda r: (_natural(r[1] if r[2] == "unit" else ""), _natural(r[3]), r[4]))
        for r in group:
            writer.append(
                sheet,
                (
                    compound,
                    name,
                    code,
                    r[1] if r[2] == AreaLevel.UNIT.value else "",
                    r[3],
                    r[5],
                    GENDER_ZH.get(r[6], r[6]),
                    r[7],
                    ID_TYPE_ZH.get(r[8], r[8]),
                    r[9],
                    r[10] or "",
                    r[11] or "",
                    _YES_NO[r[12]],
                    _YES_NO[r[13]],
                    _YES_NO[r[14]],
                    _YES_NO[r[15]],
                    _YES_NO[r[16]],
                    STATUS_ZH.get(r[17], r[17]),
                    r[18],
                ),
            )
        written += len(group)
        if progress:
            progress(written, total)
    writer.save(out)
    note_full_display(
        session,
        viewer=exported_by,
        what=f"{Detail.ID_NUMBER}+{Detail.PHONE}",
        target=f"registry export of {area.code}",
        count=written,
        area=area.id,
    )
    return ExportSummary(area_code=area.code, buildings=len(buildings), residents=written)
