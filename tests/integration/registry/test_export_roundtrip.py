"""Export residents to xlsx and import the file again into a fresh tree."""

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from tests.factories.registry import build_tree, resident_id
from tests.integration.registry.import_files import csv_bytes
from tongxin.privacy.service import Viewer
from tongxin.registry.exporting import EXPORT_HEADERS, export_residents
from tongxin.registry.importing import import_residents
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.rules import AreaLevel, Gender

TODAY = date(2022, 9, 23)
NOW = datetime(2022, 9, 23, 8, 30, tzinfo=UTC)
BY = Viewer(username="li.officer", role="health_officer")


def _residents_as_people_see_them(session):
    building = aliased(Area)
    home = aliased(Area)
    rows = session.execute(
        select(
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
            building.code,
            home.name,
            home.level,
            Household.room,
        )
        .join(Household, Household.id == Resident.household_id)
        .join(building, building.id == Resident.building_id)
        .join(home, home.id == Household.area_id)
    ).all()
    return sorted(tuple(r) for r in rows)


def _wipe_registry(session):
    session.execute(delete(Residence))
    session.execute(delete(Resident))
    session.execute(delete(Household))
    for level in reversed(list(AreaLevel)):
        session.execute(delete(Area).where(Area.level == level.value))
    session.expunge_all()


def test_an_export_reimports_into_a_fresh_tree_unchanged(session):
    tree = build_tree(session)
    header = [
        "姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号", "户籍地址", "小区", "楼栋",
        "单元", "房号", "卧床", "残疾", "孕妇", "重点人群", "无智能手机", "状态", "状态日期",
    ]  # fmt: skip
    rows = [
        ["张三", "", "", "", resident_id(100), "13800001234", "贵州省贵阳市", "尖山小区", "1栋",
         "1单元", "1001", "是", "", "", "是", "", "住院", "2022-09-01"],
        ["李四", "女", "1980/5/17", "居民身份证", resident_id(102, gender=Gender.FEMALE), "", "",
         "尖山小区", "1栋", "1单元", "201", "", "是", "是", "", "是", "", ""],
        ["John Smith", "M", "1975-03-04", "护照", "E12345678", "+86 139 0000 0000", "", "尖山小区",
         "1栋", "2单元", "101", "", "", "", "", "", "外出", "2022-09-10"],
        ["王五", "", "", "", resident_id(104), "", "", "尖山小区", "1栋", "1单元", "101", "", "",
         "", "", "", "死亡", ""],
    ]  # fmt: skip
    first = import_residents(
        session,
        source="a.csv",
        data=csv_bytes(header, rows),
        community=tree.community,
        today=TODAY,
    )
    second = import_residents(
        session,
        source="b.csv",
        data=csv_bytes(
            ["姓名", "证件号码", "楼栋编码", "房号"],
            [["赵六", resident_id(106), tree.other_building.code, "202"]],
        ),
        today=TODAY,
    )
    assert first.ok and second.ok, (first.problems, second.problems)
    before = _residents_as_people_see_them(session)
    out = io.BytesIO()

    summary = export_residents(session, area=tree.street, out=out, now=NOW, exported_by=BY)

    assert (summary.buildings, summary.residents) == (2, 5)
    _wipe_registry(session)
    build_tree(session)
    again = import_residents(session, source="export.xlsx", data=out.getvalue(), today=TODAY)
    assert again.ok, again.problems
    assert (again.rows, again.imported, again.units_created) == (5, 5, 1)
    assert _residents_as_people_see_them(session) == before


def test_export_sheets_follow_the_template_and_walk_the_building_in_order(session):
    tree = build_tree(session)
    rows = [
        ["甲", resident_id(100), "1栋", "10单元", "101"],
        ["乙", resident_id(102), "1栋", "2单元", "1001"],
        ["丙", resident_id(104), "1栋", "2单元", "201"],
        ["丁", resident_id(106), "1栋", "2单元", "201"],
        ["戊", resident_id(108), "1栋", "1单元", "1101"],
    ]
    report = import_residents(
        session,
        source="a.csv",
        data=csv_bytes(["姓名", "身份证号", "楼栋", "单元", "房号"], rows),
        community=tree.community,
        today=TODAY,
    )
    assert report.ok, report.problems
    out = io.BytesIO()

    summary = export_residents(session, area=tree.community, out=out, now=NOW, exported_by=BY)

    book = load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    assert book.sheetnames == ["说明", "尖山小区1栋"]
    notes = [r[0] for r in book["说明"].iter_rows(values_only=True)]
    assert "新星社区" in notes[0] and "2022-09-23 08:30" in notes[1]
    assert "导出人 Exported by: li.officer" in notes[1]
    assert book.properties.creator == "li.officer"
    assert "2022-09-23T08:30" in (book.properties.description or "")
    sheet = list(book["尖山小区1栋"].iter_rows(values_only=True))
    assert sheet[0] == EXPORT_HEADERS
    assert [(r[3], r[4], r[5]) for r in sheet[1:]] == [
        ("1单元", "1101", "戊"),
        ("2单元", "201", "丙"),
        ("2单元", "201", "丁"),
        ("2单元", "1001", "乙"),
        ("10单元", "101", "甲"),
    ]
    assert summary.residents == 5
