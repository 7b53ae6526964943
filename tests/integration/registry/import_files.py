"""Helpers for import tests: write template files and snapshot the registry tables."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Connection, text

REGISTRY_TABLES = ("areas", "households", "residents", "residences")


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    """Write a CSV the way office software does: CRLF line ends, in the given encoding."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> bytes:
    """Write a workbook with one sheet per entry: header then rows."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, (header, rows) in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(header)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of the registry tables, in id order."""
    return {
        table: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
        for table in REGISTRY_TABLES
    }
