"""Read spreadsheet-like files (xlsx, CSV) into sheets of rows, whatever office suite wrote them.

A reader never interprets values: CSV cells stay strings, xlsx cells keep the type openpyxl
gives (str, int, float, datetime, bool). Rows carry the row number a person sees in the
sheet, so reports can point at them.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

SUPPORTED_EXTENSIONS = (".xlsx", ".csv")

# Encodings tried in order when a CSV has no byte-order mark. GB18030 is a superset of GBK and
# GB2312, which is what WPS and Excel on Chinese Windows write for "CSV".
CSV_ENCODINGS = ("utf-8", "gb18030")


class TableFileError(ValueError):
    """A file that cannot be read as a table; `code` is stable for reports."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass
class Sheet:
    """One sheet of a file: its header row and an iterator over the data rows below it."""

    name: str  # worksheet title; '' for CSV
    header: list[str]  # header cells as written, stripped
    header_row: int  # 1-based row number of the header
    rows: Iterator[tuple[int, tuple[Any, ...] | list[Any]]]  # (row number, cells), blanks skipped
    estimated_rows: int  # data rows expected, for progress; may be off by blank rows


def extension_of(name: str) -> str:
    """Return the lower-cased extension of a file name, dot included."""
    return PurePath(name).suffix.lower()


def read_sheets(name: str, data: bytes) -> list[Sheet]:
    """Read an .xlsx or .csv file into sheets; raise TableFileError when it cannot be read."""
    ext = extension_of(name)
    if ext == ".csv":
        return [read_csv(data)]
    if ext == ".xlsx":
        return read_xlsx(data)
    raise TableFileError(
        "file_type",
        f"不支持的文件类型“{ext or name}”,请使用 .xlsx 或 .csv",
        f"unsupported file type {ext or name!r}: use .xlsx or .csv",
    )


def decode_csv(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or GB18030; return (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TableFileError(
            "file_encoding",
            "文件是UTF-16编码(“Unicode文本”),请另存为“CSV UTF-8”或Excel工作簿",
            "the file is UTF-16 ('Unicode text'): save it as 'CSV UTF-8' or as an Excel workbook",
        )
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise TableFileError(
        "file_encoding",
        "无法识别文件编码,请另存为“CSV UTF-8”或Excel工作簿",
        "the file is neither UTF-8 nor GB18030/GBK: save it as 'CSV UTF-8' or as an Excel workbook",
    )


def _is_blank(cells: tuple[Any, ...] | list[Any]) -> bool:
    for value in cells:
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip():
                return False
        else:
            return False
    return True


def _header_cells(cells: tuple[Any, ...] | list[Any]) -> list[str]:
    header = ["" if v is None else str(v).strip() for v in cells]
    while header and not header[-1]:
        header.pop()
    return header


def read_csv(data: bytes) -> Sheet:
    """Read a CSV file: the first non-blank record is the header."""
    text, _encoding = decode_csv(data)
    first_line = next((line for line in io.StringIO(text) if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    if first_line.count(";") > first_line.count(",") and delimiter == ",":
        delimiter = ";"
    records = enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1)
    for number, cells in records:
        if not _is_blank(cells):
            header_row, header = number, _header_cells(cells)
            break
    else:
        raise TableFileError(
            "file_empty", "文件中没有表头和数据", "the file has no header and no data"
        )

    def data_rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in records:
            if any(c and not c.isspace() for c in cells):
                yield number, cells

    return Sheet("", header, header_row, data_rows(), max(text.count("\n") - header_row, 0))


# A sheet with this title carries the export's title and notes; it is never data.
NOTES_SHEET = "说明"


def read_xlsx(data: bytes) -> list[Sheet]:
    """Read every worksheet of a workbook except the notes sheet and empty sheets."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            # Workbooks from other suites often lack a default style; openpyxl warns about it.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise TableFileError(
            "file_unreadable",
            "无法读取Excel文件,请确认是 .xlsx 格式(不是 .xls 或 .et)",
            f"cannot read the workbook ({exc.__class__.__name__}): is it really .xlsx?",
        ) from None
    sheets = []
    for worksheet in workbook.worksheets:
        if worksheet.title.strip() == NOTES_SHEET:
            continue
        try:
            estimated = int(worksheet.max_row or 0)
        except (TypeError, ValueError):
            estimated = 0
        # Some writers record a wrong sheet size; read what is really there.
        worksheet.reset_dimensions()
        rows = enumerate(worksheet.iter_rows(values_only=True), 1)
        for number, cells in rows:
            if not _is_blank(cells):
                header_row, header = number, _header_cells(cells)
                break
        else:
            continue

        def data_rows(
            rows: Iterator[tuple[int, tuple[Any, ...]]] = rows,
        ) -> Iterator[tuple[int, tuple[Any, ...]]]:
            for number, cells in rows:
                if not _is_blank(cells):
                    yield number, cells

        sheets.append(
            Sheet(worksheet.title, header, header_row, data_rows(), max(estimated - header_row, 0))
        )
    if not sheets:
        raise TableFileError(
            "file_empty",
            "工作簿中没有表头和数据",
            "the workbook has no sheet with a header and data",
        )
    return sheets
