"""Write workbooks row by row (openpyxl write-only mode) so large exports stay small in memory."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

SHEET_TITLE_MAX = 31
_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\]")


def sheet_title(wanted: str, used: set[str]) -> str:
    """Return a valid, unused worksheet title close to `wanted` and record it in `used`.

    Excel allows 31 characters, forbids []:*?/\\ and compares titles case-insensitively.
    """
    base = _FORBIDDEN_IN_TITLE.sub("_", wanted).strip().strip("'") or "Sheet"
    title = base[:SHEET_TITLE_MAX]
    n = 2
    while title.lower() in used:
        suffix = f"({n})"
        title = base[: SHEET_TITLE_MAX - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


class WorkbookWriter:
    """A write-only workbook: add sheets, append rows, save once."""

    def __init__(self) -> None:
        self._workbook = Workbook(write_only=True)
        self._titles: set[str] = set()
        self._bold = Font(bold=True)

    def add_sheet(self, wanted_title: str) -> WriteOnlyWorksheet:
        """Append a worksheet with a unique valid title near `wanted_title`."""
        sheet = self._workbook.create_sheet(sheet_title(wanted_title, self._titles))
        assert isinstance(sheet, WriteOnlyWorksheet)
        return sheet

    def header(
        self, sheet: WriteOnlyWorksheet, cells: Sequence[str], widths: Sequence[int] = ()
    ) -> None:
        """Append a bold header row and set column widths."""
        from openpyxl.utils import get_column_letter

        for i, width in enumerate(widths, 1):
            # openpyxl's stubs omit column_dimensions on write-only sheets, which do have it.
            sheet.column_dimensions[get_column_letter(i)].width = width  # type: ignore[attr-defined]
        row = []
        for text in cells:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = self._bold
            row.append(cell)
        sheet.append(row)

    @staticmethod
    def append(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> None:
        """Append a row; openpyxl gives date values the yyyy-mm-dd format by itself."""
        sheet.append(values)

    def stamp(self, *, by: str, at: datetime, title: str) -> None:
        """Name who exported the file and when in the workbook's document properties."""
        props = self._workbook.properties
        props.creator = by
        props.lastModifiedBy = by
        props.created = at.astimezone(UTC).replace(tzinfo=None)
        props.modified = props.created
        props.title = title
        props.description = f"导出人 Exported by: {by}; 导出时间 Exported at: {at.isoformat()}"

    def save(self, target: str | Path | IO[bytes]) -> None:
        """Write the workbook to a path or a binary file object."""
        self._workbook.save(target)
