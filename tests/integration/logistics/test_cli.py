"""Supplies and logistics from the command line alone, and sample-transport planning."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.factories.registry import build_tree
from tests.factories.screening import build_round
from tests.factories.supplies import add_needy_households
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.logistics.models import Trip
from tongxin.registry.models import Area, Resident
from tongxin.supplies.models import StockMove

COMMUNITY = "520113001001"


@pytest.fixture
def cli(db, commands_use_test_db, monkeypatch):
    monkeypatch.setenv("TONGXIN_ROUTE_TIME_LIMIT_S", "0.5")
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_needy_households(s, tree.community, 8)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def ok_json(result):
    assert result.exit_code == 0, result.output + str(result.exception or "")
    return json.loads(result.stdout)


def _stock_up(cli):
    for args in (
        [
            "warehouse-add",
            "--code",
            "CK1",
            "--name",
            "中转站",
            "--kind",
            "depot",
            "--lat",
            "26.675",
            "--lon",
            "106.635",
        ],
        ["item-add", "--code", "VEG", "--name", "蔬菜", "--unit", "kg", "--perishable"],
        ["item-add", "--code", "RICE", "--name", "大米", "--unit", "kg", "--perishable"],
        [
            "package-define",
            "--code",
            "PKG",
            "--name",
            "蔬菜包",
            "--component",
            "VEG:5",
            "--component",
            "RICE:1",
        ],
        ["donor-add", "--name", "某农业公司"],
    ):
        ok_json(run(cli, "supplies", *args, "--json"))


def test_a_day_is_planned_from_the_command_line_with_json(cli):
    _stock_up(cli)
    ok_json(
        run(
            cli,
            "supplies",
            "receive",
            "--donor",
            "某农业公司",
            "--warehouse",
            "CK1",
            "--line",
            "VEG:0.1:t:2099-01-01",
            "--line",
            "RICE:20:kg:2099-01-01",
            "--json",
        )
    )
    ok_json(
        run(
            cli,
            "supplies",
            "assemble",
            "--package",
            "PKG",
            "--count",
            "8",
            "--warehouse",
            "CK1",
            "--json",
        )
    )
    made = ok_json(
        run(
            cli,
            "supplies",
            "allocate",
            "--area",
            COMMUNITY,
            "--package",
            "PKG",
            "--warehouse",
            "CK1",
            "--date",
            "2022-09-21",
            "--json",
        )
    )
    assert made["households"] == 8
    # No hotline case asked for a delivery here.
    assert (made["hotline_requests"], made["hotline_requests_without_household"]) == (0, 0)
    for n in (1, 2):
        driver = ok_json(run(cli, "logistics", "driver-add", "--name", f"司机{n}", "--json"))
        ok_json(
            run(
                cli,
                "logistics",
                "vehicle-add",
                "--plate",
                f"贵A{n}",
                "--driver",
                driver["id"],
                "--depot",
                "CK1",
                "--capacity-kg",
                "40",
                "--json",
            )
        )
    plan = ok_json(run(cli, "logistics", "plan", "--date", "2022-09-21", "--json"))
    assert plan["stops"] == 8 and plan["weight_kg"] == 48 and plan["trips"] == 2
    assert sum(len(r["stops"]) for r in plan["routes"]) == 8
    stock = ok_json(run(cli, "supplies", "stock", "--json"))
    assert {(r["item_code"], r["free"], r["allocated"]) for r in stock} == {
        ("VEG", "60", "0"),
        ("RICE", "12", "0"),
        ("PKG", "0", "8"),
    }


def test_allocate_with_a_limit_serves_the_bedridden_first(cli, db):
    from tongxin.supplies.models import DeliveryOrder, Recipient

    _stock_up(cli)
    ok_json(
        run(
            cli,
            "supplies",
            "receive",
            "--donor",
            "某农业公司",
            "--warehouse",
            "CK1",
            "--line",
            "VEG:10:kg:2099-01-01",
            "--line",
            "RICE:2:kg:2099-01-01",
            "--json",
        )
    )
    ok_json(
        run(
            cli,
            "supplies",
            "assemble",
            "--package",
            "PKG",
            "--count",
            "2",
            "--warehouse",
            "CK1",
            "--json",
        )
    )
    args = ["supplies", "allocate", "--area", COMMUNITY, "--package", "PKG", "--warehouse", "CK1"]
    made = ok_json(run(cli, *args, "--date", "2022-09-21", "--limit", "2", "--json"))
    assert made["households"] == 2
    with session_scope(make_sessionmaker(db)) as s:
        served = list(
            s.scalars(
                select(Recipient.household_id)
                .join(DeliveryOrder, DeliveryOrder.recipient_id == Recipient.id)
                .order_by(Recipient.household_id)
            )
        )
        bedridden = list(
            s.scalars(select(Resident.household_id).where(Resident.bedridden.is_(True)))
        )
    # add_needy_households makes every 5th of the 8 bedridden: that one, then the lowest id
    # of the elderly alone (all born the same day).
    assert len(bedridden) == 1 and bedridden[0] in served
    assert len(served) == 2


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("VEG:10:斤:2099-01-01", "unknown_unit"),
        ("VEG:-1:kg:2099-01-01", "negative_quantity"),
        ("VEG:10:kg", "missing_expiry"),
    ],
)
def test_a_bad_donation_line_exits_2_naming_it_and_writes_nothing(cli, db, line, named):
    _stock_up(cli)
    result = run(
        cli,
        "supplies",
        "receive",
        "--donor",
        "某农业公司",
        "--warehouse",
        "CK1",
        "--line",
        "RICE:5:kg:2099-01-01",
        "--line",
        line,
    )
    assert result.exit_code == 2
    assert named in result.stderr and "line 2" in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) == 0


def test_issuing_more_than_in_stock_exits_2(cli):
    _stock_up(cli)
    ok_json(
        run(
            cli,
            "supplies",
            "receive",
            "--donor",
            "某农业公司",
            "--warehouse",
            "CK1",
            "--line",
            "RICE:5:kg:2099-01-01",
            "--json",
        )
    )
    result = run(
        cli,
        "supplies",
        "issue",
        "--item",
        "RICE",
        "--quantity",
        "6",
        "--warehouse",
        "CK1",
        "--to",
        "学校",
    )
    assert result.exit_code == 2 and "insufficient_stock" in result.stderr


def test_an_order_no_vehicle_can_reach_in_its_window_is_named_and_nothing_is_planned(cli, db):
    _stock_up(cli)
    ok_json(
        run(
            cli,
            "supplies",
            "receive",
            "--donor",
            "某农业公司",
            "--warehouse",
            "CK1",
            "--line",
            "VEG:50:kg:2099-01-01",
            "--line",
            "RICE:10:kg:2099-01-01",
            "--json",
        )
    )
    ok_json(
        run(
            cli,
            "supplies",
            "assemble",
            "--package",
            "PKG",
            "--count",
            "8",
            "--warehouse",
            "CK1",
            "--json",
        )
    )
    ok_json(
        run(
            cli,
            "supplies",
            "allocate",
            "--area",
            COMMUNITY,
            "--package",
            "PKG",
            "--warehouse",
            "CK1",
            "--date",
            "2022-09-21",
            "--window-from",
            "21:00",
            "--window-to",
            "21:30",
            "--json",
        )
    )
    driver = ok_json(run(cli, "logistics", "driver-add", "--name", "司机", "--json"))
    ok_json(
        run(
            cli,
            "logistics",
            "vehicle-add",
            "--plate",
            "贵A1",
            "--driver",
            driver["id"],
            "--depot",
            "CK1",
            "--capacity-kg",
            "100",
            "--json",
        )
    )
    result = run(cli, "logistics", "plan", "--date", "2022-09-21", "--json")
    assert result.exit_code == 2
    assert "window_unreachable" in result.stderr and "order 1 (" in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(func.count()).select_from(Trip)) == 0


def test_sample_transport_flags_boxes_that_cannot_reach_the_lab_in_time(
    db, commands_use_test_db, tmp_path, monkeypatch
):
    monkeypatch.setenv("TONGXIN_ROUTE_TIME_LIMIT_S", "0.5")
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round(s, residents=1)
        community = s.get_one(Area, r.tree.community.id)
        community.latitude, community.longitude = 26.68, 106.63
    ready = tmp_path / "boxes.csv"
    # Boxes ready through the day, and one sealed at 23:50: no trip slot is left to take it.
    ready.write_text("site,ready\nS1,05:00\nS1,06:30\nS1,10:00\nS1,23:50\n", encoding="utf-8")
    result = CliRunner().invoke(
        build(),
        [
            "logistics",
            "samples",
            "--round",
            "R1",
            "--ready",
            str(ready),
            "--lab",
            "26.60,106.70",
            "--couriers",
            "1",
            "--date",
            "2022-09-23",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    pickups = [p for t in plan["trips"] for p in t["pickups"]]
    assert sorted(p["ready"] for p in pickups) == ["05:00", "06:30", "10:00"]
    assert all(p["age_min"] <= 240 and p["status"] in ("ok", "at_risk") for p in pickups)
    assert [p["ready"] for p in plan["unplanned"]] == ["23:50"]
    bad = CliRunner().invoke(
        build(),
        [
            "logistics",
            "samples",
            "--round",
            "R9",
            "--ready",
            str(ready),
            "--lab",
            "26.6,106.7",
            "--couriers",
            "1",
            "--date",
            "2022-09-23",
        ],
    )
    assert bad.exit_code == 2 and "R9" in bad.stderr
