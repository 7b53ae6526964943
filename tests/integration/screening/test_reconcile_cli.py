"""`tongxin screening reconcile|coverage|export` through Typer's CliRunner on the test database."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.factories.registry import add_residents
from tests.factories.screening import build_round
from tests.integration.screening.custody import (
    close,
    complete_round,
    hand_over,
    residents,
    seal,
    swab,
)
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope

COUNTS = [
    "people_sampled",
    "tube_members",
    "tubes_closed",
    "tubes_in_sealed_boxes",
    "boxes_sealed",
    "boxes_handed_over",
    "boxes_received",
    "tubes_received",
    "tubes_resulted",
    "positive_tubes",
    "recalls_open",
    "rejected_events",
]


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner on the test database with a whole round plus one box stuck in transit."""
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round(s)
        complete_round(s, r)
        add_residents(s, r.tree.other_household, 3, start=100)
        swab(s, r, r.tubes10[5], residents(s)[30:])
        close(s, r.tubes10[5])
        hand_over(s, r, seal(s, r, "B9", [r.tubes10[5]]))
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_reconcile_prints_the_counts_mismatches_and_time_flags(cli):
    result = run(cli, "screening", "reconcile", "--round", "R1", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == [*COUNTS, "mismatches", "time_flags"]
    assert data["people_sampled"] == 33
    assert data["boxes_sealed"] == 2
    assert data["boxes_received"] == 1
    codes = {m["code"] for m in data["mismatches"]}
    # The run is long after the staged day: the recalls are overdue, and B9 never arrived.
    assert codes == {"box_not_received", "recall_overdue"}
    stuck = next(m for m in data["mismatches"] if m["code"] == "box_not_received")
    assert stuck["boxes"] == ["B9"]


def test_reconcile_of_an_unknown_round_exits_2(cli):
    result = run(cli, "screening", "reconcile", "--round", "NOPE", "--json")
    assert result.exit_code == 2
    assert "NOPE" in result.stderr


def test_coverage_prints_rows_per_child_node(cli):
    result = run(cli, "screening", "coverage", "--round", "R1", "--area", "520113001", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["present"], data["tested"], data["untested"]) == (33, 33, 0)
    assert [(r["code"], r["tested"]) for r in data["rows"]] == [
        ("520113001001", 30),
        ("520113001002", 3),
    ]


def test_coverage_of_an_unknown_area_exits_2(cli):
    result = run(cli, "screening", "coverage", "--round", "R1", "--area", "999", "--json")
    assert result.exit_code == 2


def test_export_door_to_door_writes_a_workbook(cli, tmp_path):
    out = tmp_path / "上门.xlsx"
    result = run(
        cli,
        "screening",
        "export",
        "door-to-door",
        "--round",
        "R1",
        "--area",
        "520113001001",
        "--out",
        out,
        "--json",
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["residents"] == 0
    assert load_workbook(out).sheetnames == ["说明"]
