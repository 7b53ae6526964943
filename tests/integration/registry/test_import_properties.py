"""Properties of the import: valid rows always import; one corrupted ID digit is always caught.

Each example runs in its own transaction, rolled back at the end, on the session-wide engine.
"""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.registry import build_tree
from tests.integration.registry.import_files import csv_bytes, xlsx_bytes
from tongxin.registry import rules
from tongxin.registry.importing import import_residents
from tongxin.registry.models import Resident
from tongxin.registry.rules import Gender

TODAY = date(2022, 9, 23)
HEADER = [
    "姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号",
    "卧床", "孕妇", "无智能手机", "状态",
]  # fmt: skip
DATE_FORMATS = ("{:%Y-%m-%d}", "{:%Y/%m/%d}", "{0.year}/{0.month}/{0.day}", "{:%Y年%m月%d日}")


@st.composite
def resident_row(draw, serial: int) -> list[object]:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    gender = draw(st.sampled_from(list(Gender)))
    number = rules.make_resident_id("520113", born, 2 * serial, gender)
    if draw(st.booleans()):
        number = number.lower()
    shown_gender = draw(
        st.sampled_from(["", "男" if gender is Gender.MALE else "女", gender.value])
    )
    shown_birth = draw(st.sampled_from(["", *DATE_FORMATS])).format(born)
    digits = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 10**9 - 1)):09d}"
    phone = draw(
        st.sampled_from(
            [
                "",
                digits,
                f"+86 {digits}",
                f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
                f"0086{digits}",
            ]
        )
    )
    return [
        draw(st.text(alphabet="张王李赵刘陈杨黄周吴伟芳娜敏静", min_size=1, max_size=4)),
        shown_gender,
        shown_birth,
        number,
        phone,
        draw(st.sampled_from(["尖山小区", ""])),
        draw(st.sampled_from(["1栋", "1号楼", "1"])),
        draw(st.sampled_from(["1单元", "1", "2单元"])),
        draw(st.from_regex(r"[1-9][0-9]{2,3}", fullmatch=True)),
        draw(st.sampled_from(["", "是", "否", "Y", "N", "1", "0"])),
        draw(st.sampled_from(["", "否", "no"])),
        draw(st.sampled_from(["", "是", "yes", "FALSE"])),
        draw(st.sampled_from(["", "在家", "外出", "住院", "死亡", "present", "away", "Deceased"])),
    ]


@st.composite
def valid_files(draw) -> list[list[object]]:
    serials = draw(st.lists(st.integers(0, 499), min_size=1, max_size=8, unique=True))
    return [draw(resident_row(s)) for s in serials]


def _encode(rows: list[list[object]], how: str) -> tuple[str, bytes]:
    if how == "xlsx":
        return "a.xlsx", xlsx_bytes({"居民": (HEADER, rows)})
    return "a.csv", csv_bytes(HEADER, [[str(v) for v in r] for r in rows], how)


FORMATS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "xlsx"])


@settings(max_examples=40, deadline=None)
@given(rows=valid_files(), how=FORMATS)
def test_valid_generated_rows_always_import(engine, rows, how):
    with Session(engine) as session:
        tree = build_tree(session)
        name, data = _encode(rows, how)
        report = import_residents(
            session, source=name, data=data, community=tree.community, today=TODAY
        )
        assert report.ok, report.problems
        assert report.imported == len(rows)
        stored = set(session.scalars(select(Resident.id_number)))
        assert stored == {str(r[3]).upper() for r in rows}
        session.rollback()


@settings(max_examples=60, deadline=None)
@given(rows=valid_files(), how=FORMATS, data=st.data())
def test_a_single_corrupted_id_digit_is_always_caught(engine, rows, how, data):
    victim = data.draw(st.integers(0, len(rows) - 1), label="row")
    number = str(rows[victim][3]).upper()
    position = data.draw(st.integers(0, 17), label="position")
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    rows[victim][3] = number[:position] + replacement + number[position + 1 :]

    with Session(engine) as session:
        tree = build_tree(session)
        name, blob = _encode(rows, how)
        report = import_residents(
            session, source=name, data=blob, community=tree.community, today=TODAY
        )
        assert [(p.row, p.column, p.code) for p in report.problems] == [
            (victim + 2, "身份证号", "id_check_digit")
        ]
        assert report.imported == 0
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        session.rollback()
