"""`tongxin hotline …` through Typer's CliRunner on the test database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.hotline import call
from tests.factories.registry import build_tree
from tests.integration.hotline.test_cases import _user
from tongxin.accounts.models import User
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.hotline.cli import CHINA
from tongxin.hotline.models import Hotline, HotlineRoute


@pytest.fixture
def cli(db, commands_use_test_db):
    with session_scope(make_sessionmaker(db)) as s:
        build_tree(s)
        _user(s, "liu")
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_add_a_hotline_and_a_route_then_count_its_calls(cli, db, tmp_path):
    added = run(
        cli,
        "hotline",
        "add",
        "QH-01",
        "--name",
        "泉湖街道求助热线",
        "--number",
        "0851-86000001",
        "--organisation",
        "泉湖街道办事处",
        "--area",
        "520113001",
        "--operator",
        "liu",
        "--json",
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["operators"] == ["liu"]
    routed = run(
        cli, "hotline", "route", "--area", "520113001", "--category", "psych", "--desk", "心理站"
    )
    assert routed.exit_code == 0, routed.output
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(HotlineRoute.desk)) == "心理站"
        assert s.scalar(select(Hotline.code)) == "QH-01"
        liu = s.scalar(select(User).where(User.username == "liu"))
        today = datetime.now(UTC)
        call(s, liu, description="情绪低落睡不着", now=today)
    day = today.astimezone(CHINA).date().isoformat()  # the command counts China days
    out = tmp_path / "stats.xlsx"
    stats = run(cli, "hotline", "stats", "--from", day, "--to", day, "--xlsx", out, "--json")
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.output)
    assert figures["total"]["received"] == 1
    assert figures["by_category"][0]["key"] == "psych"
    assert load_workbook(out).sheetnames[1] == "按类别"


def test_bad_input_names_the_value_and_exits_2_with_nothing_written(cli, db):
    bad_area = run(
        cli,
        "hotline",
        "add",
        "X",
        "--name",
        "n",
        "--number",
        "1",
        "--organisation",
        "o",
        "--area",
        "nowhere",
    )
    assert bad_area.exit_code == 2 and "nowhere" in bad_area.output
    bad_category = run(
        cli, "hotline", "route", "--area", "520113001", "--category", "food", "--desk", "d"
    )
    assert bad_category.exit_code == 2 and "food" in bad_category.output
    bad_day = run(cli, "hotline", "stats", "--from", "2022-13-01", "--to", "2022-09-30")
    assert bad_day.exit_code == 2
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(Hotline.id)) is None


def test_evaluate_prints_the_held_out_scores(cli):
    result = run(cli, "hotline", "evaluate", "--json")
    assert result.exit_code == 0
    scores = json.loads(result.output)
    assert scores["part"] == "held_out" and scores["category_accuracy"] > 0.85


def test_escalate_without_a_webhook_reports_what_it_escalated(cli):
    result = run(cli, "hotline", "escalate", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"escalated": [], "notified": False, "error": None}
