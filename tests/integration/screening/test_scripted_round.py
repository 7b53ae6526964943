"""A round scripted through the CLI alone: district, round, lab, site, tubes, ingest, reconcile."""

from __future__ import annotations

import json
from random import Random

import pytest
from typer.testing import CliRunner

from tongxin.cli import build
from tongxin.screening.simulate import RoundFacts, StationPlan, simulate_round, walk_ins

COMMUNITY = "520113001001"  # the demo district's first community


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner whose commands use the (empty, migrated) test database."""
    yield CliRunner()


def run(runner, *args):
    result = runner.invoke(build(), [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_round_scripted_through_the_cli_alone_reconciles_exactly(cli, tmp_path):
    # The demo district comes with its own round R1 and lab LAB1; script a second round.
    run(cli, "demo", "build", "--residents", 500, "--json")
    run(
        cli,
        "screening", "round", "create", "--code", "R2", "--name", "第二轮全员核酸",
        "--district", "520113", "--target", f"{COMMUNITY}:controlled",
        "--starts", "2022-09-23T08:00:00+08:00", "--json",
    )  # fmt: skip
    run(
        cli,
        "screening",
        "lab",
        "add",
        "--code",
        "LAB2",
        "--name",
        "金域",
        "--round",
        "R2",
        "--json",
    )
    site = run(
        cli,
        "screening", "site", "add", "--round", "R2", "--code", "S1", "--name", "广场",
        "--area", COMMUNITY, "--stations", 2, "--json",
    )  # fmt: skip
    pooled = run(
        cli, "screening", "tubes", "issue", "--round", "R2", "--count", 30, "--capacity", 10,
        "--json",
    )  # fmt: skip
    singles = run(
        cli, "screening", "tubes", "issue", "--round", "R2", "--count", 60, "--capacity", 1,
        "--json",
    )  # fmt: skip
    token = run(cli, "tokens", "issue", "--round", "R2", "--site", "S1", "--device", "pad-1",
                "--json")  # fmt: skip
    assert token["token"]

    rng = Random(8)
    people = walk_ins(rng, 150)
    facts = RoundFacts(
        round="R2",
        stations=[
            StationPlan(code, f"pad-{n}", 10, people[n::2])
            for n, code in enumerate(site["stations"])
        ],
        tubes={10: pooled["barcodes"]},
        retest_tubes=singles["barcodes"],
        lab="LAB2",
        box_tubes=4,
        positives=2,
    )
    sim = simulate_round(facts, rng)
    dump = tmp_path / "pad-dump.ndjson"
    dump.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in sim.events), encoding="utf-8"
    )

    counts = run(cli, "screening", "ingest", dump, "--json")
    assert counts == {"accepted": len(sim.events), "duplicate": 0, "rejected": 0}
    again = run(cli, "screening", "ingest", dump, "--json")
    assert again == {"accepted": 0, "duplicate": len(sim.events), "rejected": 0}

    rec = run(cli, "screening", "reconcile", "--round", "R2", "--json")
    assert rec["mismatches"] == []
    assert {k: rec[k] for k in rec if k not in ("mismatches", "time_flags")} == {
        "people_sampled": 150,
        "tube_members": 150,
        "tubes_closed": len(sim.tubes),
        "tubes_in_sealed_boxes": len(sim.tubes),
        "boxes_sealed": len(sim.boxes),
        "boxes_handed_over": len(sim.boxes),
        "boxes_received": len(sim.boxes),
        "tubes_received": len(sim.tubes),
        "tubes_resulted": len(sim.tubes),
        "positive_tubes": 2,
        "recalls_open": 0,
        "rejected_events": 0,
    }
