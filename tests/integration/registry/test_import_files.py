"""Importing residents from CSV and xlsx files into a real database."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.factories.registry import add_residents, build_tree, resident_id
from tests.integration.registry.import_files import csv_bytes, snapshot, xlsx_bytes
from tongxin.registry.importing import import_residents
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.rules import AreaLevel, Gender
from tongxin.registry.service import add_area

TODAY = date(2022, 9, 23)
HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机号",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "卧床",
    "状态",
]
WOMAN = Gender.FEMALE


def valid_rows() -> list[list[str]]:
    return [
        [
            "张三",
            "男",
            "1980-05-17",
            resident_id(100),
            "138 0000 1234",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "是",
            "在家",
        ],
        [
            "李四",
            "女",
            "1980/5/17",
            resident_id(102, gender=WOMAN),
            "+86-139-0000-5678",
            "尖山小区",
            "1栋",
            "1单元",
            "102",
            "",
            "外出",
        ],
        ["王五", "", "", resident_id(104), "", "尖山小区", "1号楼", "1", "102", "否", ""],
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_valid_csv_imports_from_each_encoding(session, encoding):
    tree = build_tree(session)
    data = csv_bytes(HEADER, valid_rows(), encoding)

    report = import_residents(
        session, source="居民.csv", data=data, community=tree.community, today=TODAY
    )

    assert report.ok, report.problems
    assert (report.rows, report.imported, report.households_created) == (3, 3, 1)
    people = session.scalars(select(Resident).order_by(Resident.id)).all()
    assert [(p.name, p.gender, p.birth_date, p.phone, p.bedridden, p.status) for p in people] == [
        ("张三", "M", date(1980, 5, 17), "13800001234", True, "present"),
        ("李四", "F", date(1980, 5, 17), "13900005678", False, "away"),
        ("王五", "M", date(1980, 5, 17), None, False, "present"),
    ]
    assert people[0].household_id == tree.household.id
    assert people[1].household_id == people[2].household_id != tree.household.id
    assert {(p.community_id, p.building_id) for p in people} == {
        (tree.community.id, tree.building.id)
    }
    assert all(p.id_tail == p.id_number[-4:] and len(p.resident_code) == 9 for p in people)
    stays = session.execute(select(Residence.resident_id, Residence.moved_out)).all()
    assert sorted(stays) == sorted((p.id, None) for p in people)
    new = session.get(Household, people[1].household_id)
    assert (new.area_id, new.room, new.building_id) == (tree.unit.id, "102", tree.building.id)


def test_an_xlsx_written_by_openpyxl_imports_from_every_sheet(session):
    tree = build_tree(session)
    header = [
        "姓名",
        "出生日期",
        "证件号码",
        "手机号",
        "楼栋编码",
        "单元",
        "房号",
        "状态",
        "状态日期",
    ]
    first = [
        [
            "张三",
            datetime(1980, 5, 17),
            resident_id(100),
            13800001234,
            tree.building.code,
            "1单元",
            101,
            "住院",
            datetime(2022, 9, 1),
        ],
        [None] * 9,
        [
            "李四",
            29358,
            resident_id(102),
            "13800001235",
            tree.building.code,
            "1单元",
            "201",
            None,
            None,
        ],
    ]
    second = [
        [
            "王五",
            "1980-05-17",
            resident_id(104),
            None,
            tree.other_building.code,
            None,
            202,
            "死亡",
            "2022/9/2",
        ],
    ]
    data = xlsx_bytes({"1栋": (header, first), "优品城邦1栋": (header, second)})

    report = import_residents(session, source="book.xlsx", data=data, today=TODAY)

    assert report.ok, report.problems
    assert (report.rows, report.imported, report.households_created) == (3, 3, 1)
    got = session.execute(
        select(
            Resident.name,
            Resident.birth_date,
            Resident.phone,
            Resident.status,
            Resident.status_since,
            Household.room,
            Resident.building_id,
        )
        .join(Household, Household.id == Resident.household_id)
        .order_by(Resident.id)
    ).all()
    assert [tuple(r) for r in got] == [
        (
            "张三",
            date(1980, 5, 17),
            "13800001234",
            "hospitalised",
            date(2022, 9, 1),
            "101",
            tree.building.id,
        ),
        ("李四", date(1980, 5, 17), "13800001235", "present", None, "201", tree.building.id),
        (
            "王五",
            date(1980, 5, 17),
            None,
            "deceased",
            date(2022, 9, 2),
            "202",
            tree.other_building.id,
        ),
    ]


def test_a_file_with_planted_faults_reports_exactly_those_and_changes_nothing(session):
    tree = build_tree(session)
    add_residents(session, tree.household, 2)  # resident_id(0) and resident_id(2) are registered
    future = date(2023, 1, 1)
    future_id = resident_id(300, born=future)
    rows = [
        [
            "好人",
            "男",
            "1980-05-17",
            resident_id(100),
            "13800001234",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "",
            "",
        ],
        [
            "校验位",
            "男",
            "1980-05-17",
            resident_id(102)[:-1] + ("0" if resident_id(102)[-1] != "0" else "1"),
            "",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "",
            "",
        ],
        [
            "生日不符",
            "男",
            "1981-05-17",
            resident_id(104),
            "",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "",
            "",
        ],
        [
            "电话",
            "男",
            "1980-05-17",
            resident_id(106),
            "1380000123",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "",
            "",
        ],
        ["原件", "男", "", resident_id(108), "", "尖山小区", "1栋", "1单元", "101", "", ""],
        ["复件", "男", "", resident_id(108), "", "尖山小区", "1栋", "1单元", "102", "", ""],
        ["已登记", "", "", resident_id(2), "", "尖山小区", "1栋", "1单元", "101", "", ""],
        ["无此楼", "", "", resident_id(110), "", "尖山小区", "9栋", "1单元", "101", "", ""],
        [
            "未来",
            "男",
            future.isoformat(),
            future_id,
            "",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "",
            "",
        ],
        ["性别不符", "女", "", resident_id(112), "", "尖山小区", "1栋", "1单元", "101", "", ""],
        [
            "未来状态",
            "",
            "",
            resident_id(114),
            "",
            "尖山小区",
            "1栋",
            "1单元",
            "101",
            "外出",
            "2022-10-01",
        ],
    ]
    header = [*HEADER[:-2], "卧床", "状态", "状态日期"]
    rows = [[*r[:9], "", r[9], r[10]] for r in rows]
    data = csv_bytes(header, rows, "gb18030")
    connection = session.connection()
    before = snapshot(connection)

    report = import_residents(
        session, source="faults.csv", data=data, community=tree.community, today=TODAY
    )

    assert not report.ok
    assert (report.rows, report.imported, report.households_created) == (11, 0, 0)
    assert [(p.row, p.column, p.code) for p in report.problems] == [
        (3, "身份证号", "id_check_digit"),
        (4, "出生日期", "id_birth_mismatch"),
        (5, "手机号", "phone_invalid"),
        (7, "身份证号", "id_duplicate_in_file"),
        (8, "身份证号", "id_duplicate_in_db"),
        (9, "楼栋", "building_unknown"),
        (10, "出生日期", "date_future"),
        (11, "性别", "id_gender_mismatch"),
        (12, "状态日期", "date_future"),
    ]
    duplicate = report.problems[3]
    assert "第7行" in duplicate.message_zh and "第6行" in duplicate.message_zh
    assert "row 7" in duplicate.message_en and "row 6" in duplicate.message_en
    assert all(p.message_zh and p.message_en for p in report.problems)
    assert report.problems[4].value == resident_id(2)
    after = snapshot(connection)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(r) for t, r in before.items()}
    assert after == before


def test_units_are_created_under_a_known_building_and_rooms_become_households(session):
    tree = build_tree(session)
    rows = [
        ["甲", "", "", resident_id(100), "", "尖山小区", "1栋", "3单元", "301", "", ""],
        ["乙", "", "", resident_id(102), "", "尖山小区", "1栋", "3单元", "301", "", ""],
        ["丙", "", "", resident_id(104), "", "尖山小区", "1栋", "东", "101", "", ""],
    ]
    report = import_residents(
        session,
        source="u.csv",
        data=csv_bytes(HEADER, rows),
        community=tree.community,
        today=TODAY,
    )
    assert report.ok, report.problems
    assert (report.units_created, report.households_created) == (2, 2)
    units = session.execute(
        select(Area.code, Area.name, Area.building_id)
        .where(Area.level == AreaLevel.UNIT.value)
        .order_by(Area.id)
    ).all()
    assert [tuple(u) for u in units] == [
        (tree.unit.code, "1单元", tree.building.id),
        (f"{tree.building.code}-3", "3单元", tree.building.id),
        (f"{tree.building.code}-U1", "东", tree.building.id),
    ]


def test_buildings_are_checked_by_code_and_by_name(session):
    tree = build_tree(session)
    twin_compound = add_area(
        session,
        code="520113001001-02",
        name="新区",
        level=AreaLevel.COMPOUND,
        parent=tree.community,
    )
    add_area(
        session,
        code="520113001001-02-01",
        name="1栋",
        level=AreaLevel.BUILDING,
        parent=twin_compound,
    )
    header = ["姓名", "身份证号", "小区", "楼栋", "楼栋编码", "单元", "房号"]
    rows = [
        ["甲", resident_id(100), "", "", "520113001001-09-09", "", "101"],
        ["乙", resident_id(102), "", "", tree.community.code, "", "101"],
        ["丙", resident_id(104), "", "", tree.other_building.code, "", "101"],
        ["丁", resident_id(106), "", "2栋", tree.building.code, "1单元", "101"],
        ["戊", resident_id(108), "", "1栋", "", "1单元", "101"],
        ["己", resident_id(110), "尖山小区", "1栋", "", "", "101"],
        ["庚", resident_id(112), "新区", "1栋", "", "", "101"],
        ["辛", resident_id(114), "尖山小区", "1栋", tree.building.code, "1单元", "101"],
    ]
    report = import_residents(
        session,
        source="b.csv",
        data=csv_bytes(header, rows),
        community=tree.community,
        today=TODAY,
    )
    assert [(p.row, p.column, p.code) for p in report.problems] == [
        (2, "楼栋编码", "building_unknown"),
        (3, "楼栋编码", "building_unknown"),
        (4, "楼栋编码", "building_outside_community"),
        (5, "楼栋", "building_mismatch"),
        (6, "楼栋", "building_ambiguous"),
        (7, "单元", "unit_required"),
    ]
    assert "community" in report.problems[1].message_en
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_importing_by_name_without_a_community_is_refused_on_the_header(session):
    build_tree(session)
    report = import_residents(
        session, source="a.csv", data=csv_bytes(HEADER, valid_rows()), today=TODAY
    )
    assert [(p.row, p.column, p.code) for p in report.problems] == [
        (1, "楼栋", "community_required")
    ]


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("a.xls", b"\xd0\xcf\x11\xe0", "file_type"),
        ("a.xlsx", b"PK\x03\x04 broken", "file_unreadable"),
        ("a.csv", "姓名,身份证号,楼栋,房号\r\n".encode(), "file_no_rows"),
        ("a.csv", b"", "file_empty"),
    ],
)
def test_unreadable_or_empty_files_are_one_whole_file_problem(session, name, data, code):
    tree = build_tree(session)
    report = import_residents(
        session, source=name, data=data, community=tree.community, today=TODAY
    )
    assert [(p.row, p.code) for p in report.problems] == [(0, code)]
    assert report.problems[0].message_zh and report.problems[0].message_en


def test_progress_counts_every_row_checked_then_inserted(session):
    tree = build_tree(session)
    calls: list[tuple[int, int]] = []
    report = import_residents(
        session,
        source="a.csv",
        data=csv_bytes(HEADER, valid_rows()),
        community=tree.community,
        today=TODAY,
        progress=lambda done, total: calls.append((done, total)),
        batch_rows=2,
    )
    assert report.ok
    assert calls == [(3, 6), (5, 6), (6, 6)]


def test_an_id_number_that_excel_stored_as_a_number_gets_its_own_message(session):
    tree = build_tree(session)
    header = ["姓名", "证件号码", "楼栋编码", "单元", "房号"]
    rows = [
        ["甲", float(resident_id(100)[:-1] + "0"), tree.building.code, "1单元", "101"],
        ["乙", int(resident_id(102)[:-1] + "0"), tree.building.code, "1单元", "101"],
    ]
    report = import_residents(
        session, source="n.xlsx", data=xlsx_bytes({"s": (header, rows)}), today=TODAY
    )
    assert [(p.row, p.code) for p in report.problems] == [(2, "id_shape"), (3, "id_shape")]
    assert all("Excel" in p.message_en and "文本" in p.message_zh for p in report.problems)
