"""`tongxin registry import|export|qr` through Typer's CliRunner on the test database."""

import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.registry import build_tree, resident_id
from tests.integration.registry.import_files import csv_bytes, snapshot
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Resident
from tongxin.registry.rules import Gender

HEADER = ["姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号"]
GOOD = [
    [
        "张三",
        "男",
        "1980-05-17",
        resident_id(100),
        "13800001234",
        "尖山小区",
        "1栋",
        "1单元",
        "101",
    ],
    [
        "李四",
        "女",
        "1980-05-17",
        resident_id(102, gender=Gender.FEMALE),
        "",
        "尖山小区",
        "1栋",
        "1单元",
        "202",
    ],
]


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner whose commands use the test database, with the small tree committed."""
    with session_scope(make_sessionmaker(db)) as s:
        build_tree(s)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_a_valid_file_imports_and_prints_a_json_summary(cli, db, tmp_path):
    path = tmp_path / "居民.csv"
    path.write_bytes(csv_bytes(HEADER, GOOD, "gb18030"))

    result = run(cli, "registry", "import", path, "--community", "520113001001", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "ok": True,
        "rows": 2,
        "imported": 2,
        "households_created": 1,
        "units_created": 0,
    }
    with db.connect() as c:
        assert sorted(c.scalars(select(Resident.name))) == ["张三", "李四"]


def test_a_valid_file_prints_a_summary_in_both_languages(cli, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(HEADER, GOOD))
    result = run(cli, "registry", "import", path, "--community", "520113001001")
    assert result.exit_code == 0, result.output
    assert "已导入 2 人" in result.stdout and "imported 2 residents" in result.stdout


def test_an_invalid_file_exits_1_lists_every_problem_and_changes_nothing(cli, db, tmp_path):
    bad = [
        *GOOD,
        [
            "王五",
            "男",
            "1980-05-17",
            resident_id(104)[:-1] + "Z",
            "139",
            "尖山小区",
            "9栋",
            "",
            "1",
        ],
    ]
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(HEADER, bad))
    with db.connect() as c:
        before = snapshot(c)

    table = run(cli, "registry", "import", path, "--community", "520113001001")
    as_json = run(cli, "registry", "import", path, "--community", "520113001001", "--json")

    assert table.exit_code == 1 and as_json.exit_code == 1
    for text in ("bad.csv", "id_shape", "phone_invalid", "building_unknown", "nothing imported"):
        assert text in table.stdout
    out = json.loads(as_json.stdout)
    assert out["ok"] is False
    assert [(p["file"], p["row"], p["column"], p["code"]) for p in out["problems"]] == [
        ("bad.csv", 4, "身份证号", "id_shape"),
        ("bad.csv", 4, "手机号", "phone_invalid"),
        ("bad.csv", 4, "楼栋", "building_unknown"),
    ]
    assert all(p["message_zh"] and p["message_en"] for p in out["problems"])
    with db.connect() as c:
        assert snapshot(c) == before


def test_usage_errors_exit_2_with_a_friendly_message(cli, tmp_path):
    other = tmp_path / "people.xls"
    other.write_bytes(b"old excel")
    good = tmp_path / "a.csv"
    good.write_bytes(csv_bytes(HEADER, GOOD))

    missing = run(cli, "registry", "import", tmp_path / "nope.csv")
    wrong_type = run(cli, "registry", "import", other)
    no_community = run(cli, "registry", "import", good, "--community", "999")
    not_community = run(cli, "registry", "import", good, "--community", "520113001")

    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert wrong_type.exit_code == 2 and ".xls" in wrong_type.stderr
    assert no_community.exit_code == 2 and "no area has code" in no_community.stderr
    assert not_community.exit_code == 2 and "not a community" in not_community.stderr
    assert missing.stdout == wrong_type.stdout == ""


def test_export_writes_one_sheet_per_building_and_refuses_bad_areas(cli, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(HEADER, GOOD))
    assert run(cli, "registry", "import", path, "--community", "520113001001").exit_code == 0
    out = tmp_path / "street.xlsx"

    result = run(cli, "registry", "export", "--area", "520113001", "--out", out)
    unknown = run(cli, "registry", "export", "--area", "nope", "--out", out)
    not_xlsx = run(cli, "registry", "export", "--area", "520113001", "--out", tmp_path / "a.csv")

    assert result.exit_code == 0, result.output
    assert "exported 2 residents in 2 buildings" in result.stdout
    assert load_workbook(out, read_only=True).sheetnames == ["说明", "尖山小区1栋", "优品城邦1栋"]
    assert unknown.exit_code == 2 and not_xlsx.exit_code == 2


def test_qr_writes_a_resident_code_as_svg_or_png(cli, db, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(HEADER, GOOD))
    assert run(cli, "registry", "import", path, "--community", "520113001001").exit_code == 0
    with db.connect() as c:
        code = c.scalar(select(Resident.resident_code).limit(1))

    svg = run(cli, "registry", "qr", code.lower(), "--out", tmp_path / "code.svg")
    png = run(cli, "registry", "qr", code, "--out", tmp_path / "code.png")
    terminal = run(cli, "registry", "qr", code)
    malformed = run(cli, "registry", "qr", "ABC")
    unknown = run(cli, "registry", "qr", "000000000")

    assert svg.exit_code == 0 and (tmp_path / "code.svg").read_text().lstrip().startswith("<")
    assert png.exit_code == 0 and (tmp_path / "code.png").read_bytes()[:4] == b"\x89PNG"
    assert terminal.exit_code == 0 and code in terminal.stdout
    assert malformed.exit_code == 2 and unknown.exit_code == 2
