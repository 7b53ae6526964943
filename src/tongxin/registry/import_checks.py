"""Check the rows of a resident import file, one by one, without touching the database.

This is the hot loop of an import: it runs once per row, so it works on plain indexes and
dictionaries. Checks that need the database (buildings, units, ID numbers already
registered) run afterwards in batches, in `registry.importing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tongxin.interop.tables import Sheet
from tongxin.registry import rules
from tongxin.registry.import_messages import PROBLEM_CODES, message
from tongxin.registry.rules import IdNumberError, IdType
from tongxin.registry.template import (
    COLUMN_BY_KEY,
    COLUMNS,
    FLAG_KEYS,
    FLAGS,
    GENDERS,
    ID_TYPES,
    OTHER_ID,
    REQUIRED_KEYS,
    STATUSES,
    cell_text,
    column_for_header,
    parse_date,
)

LOCATION_KEYS = ("building_code", "compound", "building", "unit", "room")
_COLUMN_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}
_RESIDENT_CARD = IdType.RESIDENT_CARD.value
_CODES = frozenset(PROBLEM_CODES)


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file, pointing at the cell a person has to fix."""

    row: int  # 1-based row in the sheet as the user sees it (header is row 1; 0: the whole file)
    column: str  # the header as written in the file ('' for whole-row problems)
    value: str
    code: str  # stable, e.g. "id_check_digit", "building_unknown", "id_duplicate_in_file"
    message_zh: str
    message_en: str
    sheet: str = ""  # worksheet title when the workbook has data on several sheets; '' for CSV


_PLACE_SUFFIXES = ("号楼", "单元", "栋", "幢", "座")


def place_key(name: str) -> str:
    """Normalise a compound, building or unit name for matching: '1栋', '1号楼', '1' agree."""
    key = name.strip().replace(" ", "").upper()
    for suffix in _PLACE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


@dataclass
class SheetColumns:
    """Where each template column sits in one sheet, and its header as written."""

    index: int
    name: str
    header_row: int
    position: dict[str, int] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)
    blank: list[int] = field(default_factory=list)
    width: int = 0
    index_of: dict[str, int] = field(default_factory=dict)  # every key; -1 when absent

    def header(self, key: str) -> str:
        """Return the header of a column as written, or the template's Chinese header."""
        return self.written.get(key) or COLUMN_BY_KEY[key].zh


class ParsedRow:
    """A row read from the file; fields are valid only when the row had no problems."""

    __slots__ = (
        "birth_date",
        "building",
        "building_code",
        "building_id",
        "compound",
        "flags",
        "gender",
        "household_key",
        "id_number",
        "id_ok",
        "id_type",
        "name",
        "number",
        "phone",
        "registered_address",
        "room",
        "sheet",
        "status",
        "status_since",
        "unit",
    )

    def __init__(self, sheet: int, number: int) -> None:
        self.sheet = sheet
        self.number = number
        self.building_id: int | None = None
        self.household_key: tuple[int, str, int | None, str] | None = None
        self.id_ok = False
        self.gender: str = ""
        self.birth_date: date = date.min
        self.phone: str | None = None
        self.id_type: str = ""
        self.id_number: str = ""
        self.name: str = ""
        self.registered_address: str | None = None
        self.flags: tuple[bool, bool, bool, bool, bool] = (False,) * 5
        self.status: str = ""
        self.status_since: date | None = None
        self.building_code: str = ""
        self.compound: str = ""
        self.building: str = ""
        self.unit: str = ""
        self.room: str = ""


class RowChecker:
    """Check rows one by one, collecting every problem with its place in the file."""

    def __init__(self, *, today: date, problems: list[ImportProblem]) -> None:
        self.today = today
        self.problems = problems
        self.sheets: list[SheetColumns] = []
        self.rows_read = 0
        self._order: dict[int, tuple[int, int, int, int]] = {}
        self._seen_ids: dict[tuple[str, str], tuple[int, int]] = {}

    # -- reporting ------------------------------------------------------------------------

    def _location(self, sheet: int, number: int) -> tuple[str, str]:
        name = self.sheets[sheet].name if sheet < len(self.sheets) else ""
        if name and len(self.sheets) > 1:
            return f"工作表“{name}”第{number}行", f"sheet '{name}' row {number}"
        return f"第{number}行", f"row {number}"

    def add_at(
        self,
        sheet: int,
        number: int,
        column: str,
        order: int,
        value: str,
        code: str,
        *,
        template: str | None = None,
        **fields: Any,
    ) -> None:
        """Record a problem at a row and column; `template` picks another message for the code."""
        if code not in _CODES:
            raise ValueError(f"undocumented import problem code {code!r}")
        zh, en = message(template or code, col=column, value=value, **fields)
        where_zh, where_en = self._location(sheet, number)
        problem = ImportProblem(
            row=number,
            column=column,
            value=value,
            code=code,
            message_zh=f"{where_zh}:{zh}",
            message_en=f"{where_en}: {en}",
            sheet=self.sheets[sheet].name if sheet < len(self.sheets) else "",
        )
        self._order[id(problem)] = (sheet, number, order, len(self.problems))
        self.problems.append(problem)

    def add(
        self,
        row: ParsedRow,
        key: str,
        value: str,
        code: str,
        *,
        template: str | None = None,
        **fields: Any,
    ) -> None:
        """Record a problem in a template column of a parsed row."""
        columns = self.sheets[row.sheet]
        self.add_at(
            row.sheet,
            row.number,
            columns.header(key),
            columns.position.get(key, 10_000 + _COLUMN_ORDER[key]),
            value,
            code,
            template=template,
            **fields,
        )

    def sort_key(self, problem: ImportProblem) -> tuple[int, int, int, int]:
        """Order problems by sheet, row and column (whole-file problems first)."""
        return self._order.get(id(problem), (-1, 0, 0, 0))

    # -- headers --------------------------------------------------------------------------

    def columns(self, index: int, sheet: Sheet, *, need_community: bool) -> SheetColumns:
        """Map a header row to template columns; report unknown, repeated and missing ones."""
        cols = SheetColumns(index=index, name=sheet.name, header_row=sheet.header_row)
        cols.width = len(sheet.header)
        self.sheets.append(cols)
        at = sheet.header_row
        for i, text in enumerate(sheet.header):
            if not text:
                cols.blank.append(i)
                continue
            key = column_for_header(text)
            if key is None:
                self.add_at(index, at, text, i, text, "header_unknown")
            elif key in cols.position:
                self.add_at(
                    index, at, text, i, text, "header_duplicate", other=cols.position[key] + 1
                )
            else:
                cols.position[key] = i
                cols.written[key] = text
        for key in REQUIRED_KEYS:
            if key not in cols.position:
                self.add_at(index, at, COLUMN_BY_KEY[key].zh, 10_000, "", "header_missing")
        if "building_code" not in cols.position:
            if "building" not in cols.position:
                self.add_at(
                    index,
                    at,
                    "楼栋",
                    10_000,
                    "",
                    "header_missing",
                    template="header_missing_building",
                )
            elif need_community:
                self.add_at(index, at, "楼栋", 10_000, "", "community_required")
        cols.index_of = {c.key: cols.position.get(c.key, -1) for c in COLUMNS}
        return cols

    # -- rows -----------------------------------------------------------------------------

    def row(self, cols: SheetColumns, number: int, cells: Any) -> ParsedRow:
        """Check one data row; return it parsed (with `id_ok` telling if its ID was valid)."""
        self.rows_read += 1
        n = len(cells)
        pos = cols.position
        r = ParsedRow(cols.index, number)
        before = len(self.problems)

        # Each cell becomes text once; a missing column reads the "" appended at the end.
        t = [v.strip() if type(v) is str else cell_text(v) for v in cells]
        if n < cols.width:
            t.extend([""] * (cols.width - n))
        t.append("")
        ix = cols.index_of

        # Name
        name = t[ix["name"]]
        if not name:
            if "name" in pos:
                self.add(r, "name", "", "required")
        elif len(name) > 60:
            self.add(r, "name", name, "too_long", limit=60)
        r.name = name

        # Identity document
        id_type_text = t[ix["id_type"]]
        id_type = ID_TYPES.get(id_type_text.lower())
        if id_type is None:
            self.add(r, "id_type", id_type_text, "id_type_invalid")
        id_raw = t[ix["id_number"]]
        id_number = id_raw.replace(" ", "").upper()
        gender_text = t[ix["gender"]]
        gender = GENDERS.get(gender_text.lower()) if gender_text else None
        if gender_text and gender is None:
            self.add(r, "gender", gender_text, "gender_invalid")
        i = ix["birth_date"]
        birth_raw = cells[i] if 0 <= i < n else None
        birth_text = ""
        birth: date | None = None
        if birth_raw is not None and (type(birth_raw) is not str or birth_raw.strip()):
            birth = parse_date(birth_raw)
            birth_text = cell_text(birth_raw)
            if birth is None:
                self.add(r, "birth_date", birth_text, "date_invalid")
                birth_text = ""  # reported; skip the comparisons below
        if not id_number:
            if "id_number" in pos:
                self.add(r, "id_number", "", "required")
        elif type(cells[ix["id_number"]]) is float:
            # Excel keeps 15 significant digits of a number: the last digits are already lost.
            self.add(r, "id_number", id_raw, "id_shape", template="id_as_number")
        elif id_type == _RESIDENT_CARD:
            try:
                facts = rules.parse_resident_id(id_number)
            except IdNumberError as exc:
                self.add(r, "id_number", id_raw, exc.code)
            else:
                r.id_ok = True
                if birth is not None and birth != facts.birth_date:
                    self.add(
                        r,
                        "birth_date",
                        birth_text,
                        "id_birth_mismatch",
                        expected=facts.birth_date.isoformat(),
                    )
                elif birth is None and not birth_text:
                    birth = facts.birth_date
                if gender is not None and gender != facts.gender.value:
                    self.add(
                        r,
                        "gender",
                        gender_text,
                        "id_gender_mismatch",
                        expected="男" if facts.gender.value == "M" else "女",
                    )
                elif gender is None and not gender_text:
                    gender = facts.gender.value
        elif id_type is not None:
            if OTHER_ID.match(id_number):
                r.id_ok = True
            else:
                self.add(r, "id_number", id_raw, "id_number_invalid")
            if gender is None and not gender_text:
                self.add(r, "gender", "", "required")
            if birth is None and not birth_text:
                self.add(r, "birth_date", "", "required")
        if birth is not None and birth > self.today:
            key = "birth_date" if "birth_date" in pos else "id_number"
            self.add(
                r,
                key,
                birth_text or id_raw,
                "date_future",
                date=birth.isoformat(),
                today=self.today.isoformat(),
            )
        if r.id_ok and id_type is not None:
            r.id_type = id_type
            r.id_number = id_number
            key_id = (id_type, id_number)
            first = self._seen_ids.get(key_id)
            if first is None:
                self._seen_ids[key_id] = (cols.index, number)
            else:
                other_zh, other_en = self._location(*first)
                self.add(
                    r,
                    "id_number",
                    id_raw,
                    "id_duplicate_in_file",
                    other=other_zh,
                    other_en=other_en,
                )
        r.gender = gender or ""
        r.birth_date = birth or date.min

        # Phone
        phone_text = t[ix["phone"]]
        if phone_text:
            phone = rules.normalise_phone(phone_text)
            if rules.is_mobile(phone):
                r.phone = phone
            else:
                self.add(r, "phone", phone_text, "phone_invalid")

        address = t[ix["registered_address"]]
        if len(address) > 200:
            self.add(r, "registered_address", address, "too_long", limit=200)
        r.registered_address = address or None

        # Population flags
        flags = []
        for key in FLAG_KEYS:
            flag_text = t[ix[key]]
            flag = FLAGS.get(flag_text.lower())
            if flag is None:
                self.add(r, key, flag_text, "flag_invalid")
                flag = False
            flags.append(flag)
        r.flags = (flags[0], flags[1], flags[2], flags[3], flags[4])

        # Status
        status_text = t[ix["status"]]
        status = STATUSES.get(status_text.lower())
        if status is None:
            self.add(r, "status", status_text, "status_invalid")
        r.status = status or ""
        i = ix["status_since"]
        since_raw = cells[i] if 0 <= i < n else None
        if since_raw is not None and (type(since_raw) is not str or since_raw.strip()):
            since = parse_date(since_raw)
            if since is None:
                self.add(r, "status_since", cell_text(since_raw), "date_invalid")
            elif since > self.today:
                self.add(
                    r,
                    "status_since",
                    cell_text(since_raw),
                    "date_future",
                    date=since.isoformat(),
                    today=self.today.isoformat(),
                )
            r.status_since = since

        # Where the resident lives
        r.building_code = t[ix["building_code"]]
        r.compound = t[ix["compound"]]
        r.building = t[ix["building"]]
        r.unit = t[ix["unit"]]
        r.room = t[ix["room"]]
        if not r.building_code and not r.building:
            key = "building_code" if "building_code" in pos else "building"
            if key in pos:
                self.add(r, key, "", "required")
        if not r.room:
            if "room" in pos:
                self.add(r, "room", "", "required")
        elif len(r.room) > 20:
            self.add(r, "room", r.room, "too_long", limit=20)
        if len(r.unit) > 100:
            self.add(r, "unit", r.unit, "too_long", limit=100)

        for i in cols.blank:
            if t[i]:
                self.add_at(cols.index, number, "", i, t[i], "value_without_header", index=i + 1)
        for i in range(cols.width, n):
            if t[i]:
                self.add_at(cols.index, number, "", i, t[i], "value_without_header", index=i + 1)
        if len(self.problems) != before:
            r.id_ok = r.id_ok and not any(
                p.code == "id_duplicate_in_file" for p in self.problems[before:]
            )
        return r
