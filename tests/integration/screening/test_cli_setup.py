"""Round set-up from the CLI alone: round, lab, site, tubes and device tokens."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.registry import build_tree
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening import rules
from tongxin.screening.models import DeviceToken, Round, Station, Tube
from tongxin.screening.setup import scope_for_token

COMMUNITY = "520113001001"
OTHER = "520113001002"


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner whose commands use the test database, with the small tree committed."""
    with session_scope(make_sessionmaker(db)) as s:
        build_tree(s)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def ok_json(result):
    assert result.exit_code == 0, result.output + str(result.exception or "")
    return json.loads(result.stdout)


def create_round(runner, code="R1"):
    return run(
        runner,
        "screening", "round", "create", "--code", code, "--name", "第一轮",
        "--district", "520113", "--target", f"{COMMUNITY}:controlled",
        "--target", f"{OTHER}:precaution", "--starts", "2022-09-23T08:00:00+08:00",
        "--json",
    )  # fmt: skip


def test_a_round_is_scripted_end_to_end_from_the_cli(cli, db, tmp_path):
    made = ok_json(create_round(cli))
    assert made["deadline"] == "2022-09-24T00:00:00+00:00"
    assert made["targets"] == [
        {"area": COMMUNITY, "zone": "controlled"},
        {"area": OTHER, "zone": "precaution"},
    ]
    lab = ok_json(run(cli, "screening", "lab", "add", "--code", "LAB1", "--name", "金域",
                      "--round", "R1", "--json"))  # fmt: skip
    assert lab["lab"] == "LAB1"
    site = ok_json(run(cli, "screening", "site", "add", "--round", "R1", "--code", "S1", "--name",
                       "广场", "--area", COMMUNITY, "--stations", "3", "--json"))  # fmt: skip
    assert site["stations"] == ["R1-S1-1", "R1-S1-2", "R1-S1-3"]
    assert site["zone"] == "controlled"
    out = tmp_path / "tubes.csv"
    tubes = ok_json(run(cli, "screening", "tubes", "issue", "--round", "R1", "--count", "4",
                        "--capacity", "10", "--out", out, "--json"))  # fmt: skip
    assert tubes["capacity"] == 10 and len(tubes["barcodes"]) == 4
    assert all(rules.is_tube_barcode(b) for b in tubes["barcodes"])
    assert out.read_text(encoding="utf-8").splitlines()[1:] == [
        f"{b},10" for b in tubes["barcodes"]
    ]
    site_token = ok_json(run(cli, "tokens", "issue", "--round", "R1", "--site", "S1",
                             "--device", "pad-1", "--hours", "12", "--json"))  # fmt: skip
    lab_token = ok_json(run(cli, "tokens", "issue", "--round", "R1", "--lab", "LAB1",
                            "--device", "lab-1", "--json"))  # fmt: skip
    # The issue's own form: no device name, one is made from the site code.
    unnamed = ok_json(run(cli, "tokens", "issue", "--site", "S1", "--round", "R1", "--json"))
    assert unnamed["device"].startswith("S1-") and unnamed["token"]
    with session_scope(make_sessionmaker(db)) as s:
        rnd = s.scalar(select(Round).where(Round.code == "R1"))
        assert rnd.controlled_pool == 10 and rnd.precaution_pool == 20
        assert s.scalars(select(Station.code).order_by(Station.code)).all() == site["stations"]
        assert s.scalars(select(Tube.barcode).order_by(Tube.id)).all() == tubes["barcodes"]
        # Only the hash is stored: the printed token is nowhere in the table.
        hashes = s.scalars(select(DeviceToken.token_hash)).all()
        assert site_token["token"] not in hashes
        now = datetime.now(UTC)
        site_scope = scope_for_token(s, token=site_token["token"], now=now)
        lab_scope = scope_for_token(s, token=lab_token["token"], now=now)
    assert site_scope is not None and site_scope.site_id == site["id"]
    assert lab_scope is not None and lab_scope.lab_id == lab["id"]

    revoked = ok_json(run(cli, "tokens", "revoke", str(site_token["id"]), "--json"))
    assert revoked == {"id": site_token["id"], "revoked": True}
    with session_scope(make_sessionmaker(db)) as s:
        assert scope_for_token(s, token=site_token["token"], now=datetime.now(UTC)) is None


def test_site_add_prints_one_station_code_per_line(cli):
    create_round(cli)
    result = run(cli, "screening", "site", "add", "--round", "R1", "--code", "S2",
                 "--name", "尖山", "--area", OTHER, "--stations", "2")  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.split() == ["R1-S2-1", "R1-S2-2"]


def test_tubes_issue_can_write_a_printable_qr_label_sheet(cli, tmp_path):
    create_round(cli)
    sheet = tmp_path / "labels.svg"
    result = run(cli, "screening", "tubes", "issue", "--round", "R1", "--count", "5",
                 "--capacity", "1", "--out", sheet)  # fmt: skip
    assert result.exit_code == 0
    barcodes = result.stdout.split()
    text = sheet.read_text(encoding="utf-8")
    assert text.count('class="segno"') == 5
    assert all(f">{b}</text>" in text for b in barcodes)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--target", f"{COMMUNITY}:red"], f"{COMMUNITY}:red"),
        (["--target", "999999:controlled"], "999999"),
        (["--target", f"{COMMUNITY}:controlled", "--controlled-pool", "30"], "30"),
        (["--target", f"{COMMUNITY}:controlled", "--sealed-pooling", "pairs"], "pairs"),
        (["--target", f"{COMMUNITY}:controlled", "--starts", "tomorrow"], "tomorrow"),
    ],
)
def test_round_create_names_the_bad_value_and_exits_2(cli, db, args, named):
    result = run(cli, "screening", "round", "create", "--code", "R9", "--name", "x",
                 "--district", "520113", *args)  # fmt: skip
    assert result.exit_code == 2
    assert named in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(Round.id)) is None


def test_a_second_round_with_the_same_code_is_refused(cli):
    assert create_round(cli).exit_code == 0
    again = create_round(cli)
    assert again.exit_code == 2
    assert "round_exists" in again.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["site", "add", "--round", "R7", "--code", "S1", "--name", "x", "--area", COMMUNITY,
          "--stations", "1"], "R7"),
        (["site", "add", "--round", "R1", "--code", "S1", "--name", "x", "--area", "520113",
          "--stations", "1"], "520113"),
        (["site", "add", "--round", "R1", "--code", "S1", "--name", "x", "--area", COMMUNITY,
          "--stations", "0"], "site_stations"),
        (["tubes", "issue", "--round", "R1", "--count", "3", "--capacity", "7"], "7"),
        (["tubes", "issue", "--round", "R1", "--count", "0", "--capacity", "10"], "0"),
        (["tubes", "issue", "--round", "R1", "--count", "1", "--capacity", "10", "--out",
          "x.pdf"], "x.pdf"),
        (["lab", "add", "--code", "L", "--name", "x", "--round", "R5"], "R5"),
    ],
)  # fmt: skip
def test_set_up_commands_name_the_bad_value_and_exit_2(cli, db, args, named):
    create_round(cli)
    result = run(cli, "screening", *args)
    assert result.exit_code == 2, result.output
    assert named in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(Tube.id)) is None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--site", "S1", "--lab", "LAB1"], "--site"),
        ([], "--lab"),
        (["--site", "S9"], "S9"),
        (["--lab", "LAB9"], "LAB9"),
        (["--site", "S1", "--hours", "0"], "--hours"),
    ],
)
def test_tokens_issue_names_the_bad_value_and_exits_2(cli, db, args, named):
    create_round(cli)
    run(cli, "screening", "lab", "add", "--code", "LAB1", "--name", "金域", "--round", "R1")
    run(cli, "screening", "site", "add", "--round", "R1", "--code", "S1", "--name", "x",
        "--area", COMMUNITY, "--stations", "1")  # fmt: skip
    result = run(cli, "tokens", "issue", "--round", "R1", "--device", "pad", *args)
    assert result.exit_code == 2
    assert named in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(DeviceToken.id)) is None


def test_revoking_an_unknown_token_exits_2(cli):
    result = run(cli, "tokens", "revoke", "424242")
    assert result.exit_code == 2
    assert "424242" in result.stderr
