"""Supplies workbooks: stock, donor report, delivery orders and trip logs, as real xlsx files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tongxin.interop.xlsx import WorkbookWriter


def table_workbook(
    title: str, columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]], *, by: str
) -> WorkbookWriter:
    """Write rows into a one-sheet workbook; `columns` are (key, Chinese header) pairs."""
    book = WorkbookWriter()
    sheet = book.add_sheet(title)
    book.header(
        sheet,
        [header for _, header in columns],
        [max(10, len(header) * 3) for _, header in columns],
    )
    for row in rows:
        book.append(sheet, [row.get(key) for key, _ in columns])
    book.stamp(by=by, at=datetime.now(UTC), title=title)
    return book


STOCK_COLUMNS = [
    ("warehouse", "仓库"),
    ("item_code", "物资编码"),
    ("item", "物资"),
    ("unit", "单位"),
    ("lot", "批次"),
    ("expires_on", "有效期至"),
    ("free", "可用"),
    ("allocated", "已分配"),
]

DONOR_COLUMNS = [
    ("donation", "收据号"),
    ("item", "物资"),
    ("given", "捐赠数量"),
    ("received", "入库"),
    ("unit", "单位"),
    ("in_stock", "库存"),
    ("in_packages", "装入物资包"),
    ("delivered", "已送达"),
    ("delivered_kg", "已送达(千克)"),
    ("written_off", "报损"),
    ("issued_direct", "直接发放"),
    ("recipients", "送达户数"),
]

TRIP_LOG_COLUMNS = [
    ("driver", "司机"),
    ("trips", "趟数"),
    ("deliveries", "送达单数"),
    ("delivered_kg", "送达重量(千克)"),
    ("km", "里程(公里)"),
]

ORDER_COLUMNS = [
    ("order", "配送单"),
    ("recipient", "收件方"),
    ("address", "地址"),
    ("weight_kg", "重量(千克)"),
    ("window", "时间窗"),
    ("urgency", "紧急程度"),
    ("status", "状态"),
    ("pin", "签收码"),
]


def stock_workbook(rows: Sequence[dict[str, Any]], *, by: str) -> WorkbookWriter:
    """Return the stock list workbook."""
    return table_workbook("库存", STOCK_COLUMNS, rows, by=by)
