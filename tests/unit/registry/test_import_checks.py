"""Row checks of the resident import, without a database."""

from datetime import date, datetime

import pytest

from tongxin.interop.tables import Sheet
from tongxin.registry import rules
from tongxin.registry.import_checks import ImportProblem, RowChecker, place_key
from tongxin.registry.rules import Gender
from tongxin.registry.template import column_for_header, parse_date

TODAY = date(2022, 9, 23)
HEADER = ["姓名", "性别", "出生日期", "身份证号", "手机号", "楼栋", "房号"]
MAN = rules.make_resident_id("520113", date(1980, 5, 17), 2, Gender.MALE)
WOMAN = rules.make_resident_id("520113", date(1990, 1, 2), 4, Gender.FEMALE)
OTHER = rules.make_resident_id("520113", date(1990, 1, 2), 6, Gender.FEMALE)


def check(rows, header=HEADER, *, need_community=False):
    problems: list[ImportProblem] = []
    checker = RowChecker(today=TODAY, problems=problems)
    sheet = Sheet("", header, 1, iter(()), 0)
    columns = checker.columns(0, sheet, need_community=need_community)
    parsed = [checker.row(columns, n, cells) for n, cells in enumerate(rows, 2)]
    return parsed, [(p.row, p.column, p.code) for p in problems], problems


def test_a_clean_row_is_parsed_and_normalised():
    (row,), found, _ = check(
        [["张三", "男", "1980/5/17", MAN.lower(), "+86 138-0000-1234", "1栋", "101"]]
    )
    assert found == []
    assert (row.name, row.gender, row.birth_date, row.id_number, row.phone) == (
        "张三",
        "M",
        date(1980, 5, 17),
        MAN.upper(),
        "13800001234",
    )
    assert row.id_ok and row.status == "present" and row.flags == (False,) * 5


def test_gender_and_birth_date_come_from_the_id_number_when_the_columns_are_empty():
    (row,), found, _ = check([["李四", "", "", WOMAN, "", "1栋", "101"]])
    assert found == []
    assert (row.gender, row.birth_date, row.phone) == ("F", date(1990, 1, 2), None)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            ["张三", "男", "1980-05-17", MAN[:-1] + "0", "", "1栋", "101"],
            (2, "身份证号", "id_check_digit"),
        ),
        (["张三", "男", "1980-05-17", MAN[:10], "", "1栋", "101"], (2, "身份证号", "id_shape")),
        (["张三", "男", "1981-05-17", MAN, "", "1栋", "101"], (2, "出生日期", "id_birth_mismatch")),
        (["张三", "女", "1980-05-17", MAN, "", "1栋", "101"], (2, "性别", "id_gender_mismatch")),
        (["张三", "X", "1980-05-17", MAN, "", "1栋", "101"], (2, "性别", "gender_invalid")),
        (["张三", "男", "1980-13-17", MAN, "", "1栋", "101"], (2, "出生日期", "date_invalid")),
        (
            ["张三", "男", "1980-05-17", MAN, "12345678901", "1栋", "101"],
            (2, "手机号", "phone_invalid"),
        ),
        (
            ["张三", "男", "1980-05-17", MAN, "0851-8888888", "1栋", "101"],
            (2, "手机号", "phone_invalid"),
        ),
        (["", "男", "1980-05-17", MAN, "", "1栋", "101"], (2, "姓名", "required")),
        (["张三", "男", "1980-05-17", MAN, "", "1栋", ""], (2, "房号", "required")),
        (["张三", "男", "1980-05-17", MAN, "", "", "101"], (2, "楼栋", "required")),
        (["张三", "男", "1980-05-17", MAN, "", "1栋", "1" * 21], (2, "房号", "too_long")),
        (
            ["张三", "男", "1980-05-17", MAN, "", "1栋", "101", "extra"],
            (2, "", "value_without_header"),
        ),
    ],
)
def test_each_fault_is_reported_at_its_cell(cells, expected):
    _, found, problems = check([cells])
    assert found == [expected]
    assert problems[0].message_zh.startswith("第2行:")
    assert problems[0].message_en.startswith("row 2: ")


def test_future_dates_are_rejected_for_birth_and_status():
    born = date(2023, 1, 1)
    future_id = rules.make_resident_id("520113", born, 2, Gender.MALE)
    header = [*HEADER, "状态", "状态日期"]
    rows = [
        ["甲", "男", "2023-01-01", future_id, "", "1栋", "101", "", ""],
        ["乙", "男", "", MAN, "", "1栋", "101", "住院", "2022-09-24"],
        ["丙", "女", "", WOMAN, "", "1栋", "101", "外出", "2022-09-23"],
    ]
    _, found, _ = check(rows, header)
    assert found == [(2, "出生日期", "date_future"), (3, "状态日期", "date_future")]


def test_a_repeated_id_number_names_both_rows():
    rows = [
        ["甲", "", "", MAN, "", "1栋", "101"],
        ["乙", "", "", WOMAN, "", "1栋", "101"],
        ["丙", "", "", MAN.replace("X", "x"), "", "1栋", "101"],
    ]
    parsed, found, problems = check(rows)
    assert found == [(4, "身份证号", "id_duplicate_in_file")]
    assert "第4行" in problems[0].message_zh and "第2行" in problems[0].message_zh
    assert parsed[0].id_ok and not parsed[2].id_ok


def test_passports_need_gender_and_birth_date_and_a_plausible_number():
    header = ["姓名", "证件类型", "证件号码", "性别", "出生日期", "楼栋", "房号"]
    rows = [
        ["John", "护照", "E12345678", "M", "1975-03-04", "1栋", "101"],
        ["Jane", "passport", "E1234567", "", "", "1栋", "101"],
        ["Jim", "护照", "E 12?", "M", "1975-03-04", "1栋", "101"],
        ["Jo", "驾照", "123", "M", "1975-03-04", "1栋", "101"],
    ]
    parsed, found, _ = check(rows, header)
    assert found == [
        (3, "性别", "required"),
        (3, "出生日期", "required"),
        (4, "证件号码", "id_number_invalid"),
        (5, "证件类型", "id_type_invalid"),
    ]
    assert (parsed[0].id_type, parsed[0].gender) == ("passport", "M")


def test_flags_and_status_accept_chinese_and_english():
    header = [*HEADER, "卧床", "disabled", "孕妇", "key_group", "无智能手机", "status"]
    rows = [
        ["甲", "", "", MAN, "", "1栋", "101", "是", "Y", "0", "yes", "1", "住院"],
        ["乙", "", "", WOMAN, "", "1栋", "101", "", "N", "否", "no", "", "away"],
        ["丙", "", "", OTHER, "", "1栋", "101", "也许", "", "", "", "", "飞走"],
    ]
    parsed, found, _ = check(rows, header)
    assert parsed[0].flags == (True, True, False, True, True) and parsed[0].status == "hospitalised"
    assert parsed[1].flags == (False,) * 5 and parsed[1].status == "away"
    assert found == [(4, "卧床", "flag_invalid"), (4, "status", "status_invalid")]


def test_headers_unknown_repeated_or_missing_are_reported_once_on_row_1():
    header = ["名字", "身份证号", "证件号码", "楼栋", "备注"]
    _, found, _ = check([["x", MAN, MAN, "1栋", ""]], header, need_community=True)
    assert sorted(found) == sorted(
        [
            (1, "名字", "header_unknown"),
            (1, "证件号码", "header_duplicate"),
            (1, "备注", "header_unknown"),
            (1, "姓名", "header_missing"),
            (1, "房号", "header_missing"),
            (1, "楼栋", "community_required"),
        ]
    )


def test_a_building_needs_a_name_or_a_code_column():
    _, found, _ = check([], ["姓名", "身份证号", "房号"])
    assert found == [(1, "楼栋", "header_missing")]


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("姓名", "name"),
        (" Name ", "name"),
        ("身份证号码", "id_number"),
        ("ID_Number", "id_number"),
        ("手机号(选填)", "phone"),
        ("*房号", "room"),
        ("birth date", "birth_date"),
        ("楼栋编码", "building_code"),
        ("无智能手机", "no_smartphone"),
    ],
)
def test_headers_match_in_chinese_and_english_with_notes_and_marks(written, key):
    assert column_for_header(written) == key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1980-05-17", date(1980, 5, 17)),
        ("1980/5/7", date(1980, 5, 7)),
        ("1980.05.17", date(1980, 5, 17)),
        ("1980年5月17日", date(1980, 5, 17)),
        ("19800517", date(1980, 5, 17)),
        ("1980-05-17 00:00:00", date(1980, 5, 17)),
        (datetime(1980, 5, 17), date(1980, 5, 17)),
        (29358, date(1980, 5, 17)),
        (29358.0, date(1980, 5, 17)),
        ("17/05/1980", None),
        ("1980-02-30", None),
        ("", None),
        (12, None),
    ],
)
def test_dates_are_read_in_the_forms_office_software_writes(value, expected):
    assert parse_date(value) == expected


def test_place_names_match_with_or_without_their_suffix():
    assert place_key("1栋") == place_key("1号楼") == place_key(" 1 ") == "1"
    assert place_key("2单元") == "2"
    assert place_key("栋") == "栋"
