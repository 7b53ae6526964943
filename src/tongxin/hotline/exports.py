"""Hotline statistics as an xlsx workbook: one sheet per grouping."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from tongxin.hotline.board import Statistics, StatRow
from tongxin.interop.xlsx import WorkbookWriter

CATEGORY_ZH = {
    "daily": "生活",
    "medical": "医疗",
    "supplies": "物资",
    "travel": "出行",
    "psych": "心理关爱",
    "other": "其他",
}
HEADER = ["分组", "受理", "办结", "办结时长中位数(小时)", "超时"]


def _row(r: StatRow, label: str | None = None) -> list[object]:
    return [label or r.label, r.received, r.resolved, r.median_hours, r.overdue]


def write_statistics(figures: Statistics, target: IO[bytes], *, by: str, at: datetime) -> None:
    """Write the statistics of a period to an xlsx file object."""
    book = WorkbookWriter()
    for title, rows, labels in (
        ("按热线", figures.by_hotline, None),
        ("按类别", figures.by_category, CATEGORY_ZH),
        ("按区域", figures.by_area, None),
        ("按日期", figures.by_day, None),
    ):
        sheet = book.add_sheet(title)
        book.header(sheet, HEADER, (24, 10, 10, 22, 10))
        for r in rows:
            book.append(sheet, _row(r, labels.get(r.key) if labels else None))
        book.append(sheet, _row(figures.total))
    book.stamp(by=by, at=at, title="热线统计")
    book.save(target)
