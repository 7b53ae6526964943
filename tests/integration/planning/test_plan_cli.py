"""`tongxin plan pool` and `tongxin plan capacity` through the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.screening import build_round
from tongxin.cli import build
from tongxin.planning.service import earlier_results
from tongxin.screening.models import Tube


# Left untyped: a local helper whose Result is only read for exit_code and output here.
def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build(), ["plan", *args])


def test_pool_advice_at_one_percent_is_ten(commands_use_test_db: None, db) -> None:
    result = run("pool", "--prevalence", "0.01", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["best_size"] == 10
    assert out["prevalence_estimate"] is None
    ten = next(o for o in out["options"] if o["size"] == 10)
    assert ten["positive_tubes_per_10k"] == pytest.approx(95.62, abs=0.01)


def test_pool_advice_refuses_a_prevalence_outside_zero_to_one(
    commands_use_test_db: None, db
) -> None:
    result = run("pool", "--prevalence", "1.5")
    assert result.exit_code == 2
    assert "--prevalence" in result.output


def test_pool_without_prevalence_or_results_says_what_is_missing(
    commands_use_test_db: None, db
) -> None:
    result = run("pool", "--json")
    assert result.exit_code == 2
    assert "--prevalence" in result.output


def _results(session: Session, positive: int, negative: int, members: int) -> None:
    setup = build_round(session)
    barcodes = setup.tubes10[: positive + negative]
    for i, code in enumerate(barcodes):
        session.execute(
            update(Tube)
            .where(Tube.barcode == code)
            .values(
                state="resulted",
                member_count=members,
                result="positive" if i < positive else "negative",
            )
        )
    session.flush()


def test_pool_estimates_prevalence_from_earlier_results(
    commands_use_test_db: None, session: Session
) -> None:
    _results(session, positive=1, negative=9, members=10)
    assert earlier_results(session) == {10: (1, 9)}
    session.commit()
    result = run("pool", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    est = out["prevalence_estimate"]
    assert est["tubes"] == 10 and est["positive_tubes"] == 1 and est["people"] == 100
    assert est["estimate"] == pytest.approx(1 - 0.9**0.1, rel=1e-6)
    assert est["low"] < est["estimate"] < est["high"]
    assert out["prevalence"] == est["estimate"]
    assert session.scalar(select(Tube.id).where(Tube.result == "positive")) is not None


def test_capacity_forward_and_simulated(commands_use_test_db: None) -> None:
    result = run("capacity", "--population", "50000", "--simulate", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    analytic, sim = out["analytic"], out["simulation"]
    assert set(analytic["stage_completion_hours"]) == {"sampling", "transport", "lab", "results"}
    assert analytic["bottleneck"] == "sampling_window"
    assert analytic["meets_deadline"] is True
    assert sim["stage_completion_hours"]["results"] == pytest.approx(
        analytic["stage_completion_hours"]["results"], abs=0.5
    )
    assert {"p50", "p90", "max_queue"} <= set(sim["queue"])
    assert set(sim["lab_turnaround_hours"]) == {"p50", "p90", "p99"}
    assert 0 <= sim["over_4h_share"] <= 1
    assert analytic["recall"]["people_to_recall"] > 0


def test_capacity_reverse_shows_rules_of_thumb(commands_use_test_db: None) -> None:
    result = run("capacity", "--population", "1000000", "--reverse", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["rules_of_thumb"]["stations"] == [1250, 1667]
    assert out["check"]["meets_deadline"] is True
    assert out["needed"]["samplers"] == out["needed"]["stations"] * 2


def test_capacity_names_a_bad_option(commands_use_test_db: None) -> None:
    result = run("capacity", "--population", "1000", "--pool-mix", "30:1")
    assert result.exit_code == 2
    assert "pool_mix" in result.output
