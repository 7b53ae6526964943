"""The resident import template: accepted headers, value vocabularies and cell parsing.

Shared by the import (reading) and the export (writing the same headers so an export
re-imports). Pure: no database, no clock. docs/import.md documents every entry here, and a
test checks that it does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tongxin.registry.rules import Gender, IdType, ResidentStatus


@dataclass(frozen=True)
class Column:
    """One template column: canonical key, the headers written on export, accepted aliases."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("compound", "小区", "compound", max_length=100),
    Column("building", "楼栋", "building", ("楼号", "楼栋号"), max_length=100),
    Column("building_code", "楼栋编码", "building_code", ("楼栋代码",), max_length=40),
    Column("unit", "单元", "unit", ("单元号",), max_length=100),
    Column("room", "房号", "room", ("房间号", "门牌号", "室号"), max_length=20),
    Column("name", "姓名", "name", (), max_length=60),
    Column("gender", "性别", "gender", ("sex",)),
    Column("birth_date", "出生日期", "birth_date", ("出生年月日", "date_of_birth", "dob")),
    Column("id_type", "证件类型", "id_type"),
    Column(
        "id_number",
        "证件号码",
        "id_number",
        ("身份证号", "身份证号码", "公民身份号码", "身份证", "id_no"),
        max_length=32,
    ),
    Column("phone", "手机号", "phone", ("手机号码", "手机", "联系电话", "mobile")),
    Column("registered_address", "户籍地址", "registered_address", ("户籍",), max_length=200),
    Column("bedridden", "卧床", "bedridden", ("长期卧床",)),
    Column("disabled", "残疾", "disabled", ("残疾人",)),
    Column("pregnant", "孕妇", "pregnant", ("孕产妇",)),
    Column("key_group", "重点人群", "key_group"),
    Column("no_smartphone", "无智能手机", "no_smartphone"),
    Column("status", "状态", "status", ("居住状态",)),
    Column("status_since", "状态日期", "status_since", ("状态开始日期",)),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
FLAG_KEYS = ("bedridden", "disabled", "pregnant", "key_group", "no_smartphone")
DATE_KEYS = ("birth_date", "status_since")
# Always required. The building is found by `building_code`, or by `building` (with an optional
# `compound`) under the community the import is run for; one of the two must be present.
REQUIRED_KEYS = ("name", "id_number", "room")

_HEADER_NOISE = re.compile(r"[\s_\-*＊:：]+|[(（][^)）]*[)）]")


def header_key(text: str) -> str:
    """Normalise a header for matching: no spaces, _, -, *, colon or (notes); lower case."""
    return _HEADER_NOISE.sub("", text).lower()


HEADER_INDEX: dict[str, str] = {}
for _c in COLUMNS:
    for _h in (_c.zh, _c.en, *_c.aliases):
        HEADER_INDEX[header_key(_h)] = _c.key


def column_for_header(text: str) -> str | None:
    """Return the canonical key of a header as written, or None when unknown."""
    return HEADER_INDEX.get(header_key(text))


# --- vocabularies: keys are lower-cased, stripped cell text ---------------------------------

GENDERS: dict[str, str] = {
    "男": Gender.MALE.value,
    "女": Gender.FEMALE.value,
    "m": Gender.MALE.value,
    "f": Gender.FEMALE.value,
    "male": Gender.MALE.value,
    "female": Gender.FEMALE.value,
}
GENDER_ZH = {Gender.MALE.value: "男", Gender.FEMALE.value: "女"}

ID_TYPES: dict[str, str] = {
    "": IdType.RESIDENT_CARD.value,
    "居民身份证": IdType.RESIDENT_CARD.value,
    "身份证": IdType.RESIDENT_CARD.value,
    "resident_card": IdType.RESIDENT_CARD.value,
    "resident card": IdType.RESIDENT_CARD.value,
    "护照": IdType.PASSPORT.value,
    "passport": IdType.PASSPORT.value,
    "其他": IdType.OTHER.value,
    "其它": IdType.OTHER.value,
    "other": IdType.OTHER.value,
}
ID_TYPE_ZH = {
    IdType.RESIDENT_CARD.value: "居民身份证",
    IdType.PASSPORT.value: "护照",
    IdType.OTHER.value: "其他",
}

FLAGS: dict[str, bool] = {
    "": False,
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "√": True,
    "✓": True,
}

STATUSES: dict[str, str] = {
    "": ResidentStatus.PRESENT.value,
    "在家": ResidentStatus.PRESENT.value,
    "在住": ResidentStatus.PRESENT.value,
    "present": ResidentStatus.PRESENT.value,
    "外出": ResidentStatus.AWAY.value,
    "away": ResidentStatus.AWAY.value,
    "住院": ResidentStatus.HOSPITALISED.value,
    "hospitalised": ResidentStatus.HOSPITALISED.value,
    "hospitalized": ResidentStatus.HOSPITALISED.value,
    "死亡": ResidentStatus.DECEASED.value,
    "去世": ResidentStatus.DECEASED.value,
    "deceased": ResidentStatus.DECEASED.value,
}
STATUS_ZH = {
    ResidentStatus.PRESENT.value: "在家",
    ResidentStatus.AWAY.value: "外出",
    ResidentStatus.HOSPITALISED.value: "住院",
    ResidentStatus.DECEASED.value: "死亡",
}

# Passport and other document numbers: letters, digits and dashes.
OTHER_ID = re.compile(r"^[A-Z0-9\-]{3,32}$")


def cell_text(value: Any) -> str:
    """Return a cell as stripped text the way a person reads it (12.0 -> '12')."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"  # a time part, as Excel writes it, is ignored
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date | None:
    """Read a date cell: a date, an Excel serial number, or YYYY-MM-DD / YYYY/MM/DD / YYYY年M月D日.

    Return None when the cell is not a date.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An xlsx date cell without a date format arrives as its serial number (1900 system;
        # serials from 61 on are exact, which covers every date after 1 March 1900).
        if 61 <= value < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    match = _DATE_TEXT.match(text) or _DATE_COMPACT.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
