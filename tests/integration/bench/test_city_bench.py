"""`tongxin bench city` at a small size: a whole valid round reconciles with no mismatch."""

from __future__ import annotations

import os

import pytest

from tests.conftest import engine_under_test
from tongxin.bench import city


def _run(batch: int | None = None) -> dict:
    return city.run_city_bench(
        people=2000,
        engine_name=engine_under_test(),
        database_url=os.environ.get("TONGXIN_TEST_DATABASE_URL"),
        batch=batch,
    )


def _whole_and_exact(line: dict) -> None:
    assert line["statuses"] == {"accepted": line["events"]}
    assert line["mismatches"] == 0
    assert line["people_sampled"] == line["expected_people"]
    assert line["counts"]["tubes_resulted"] == line["tubes"]


def test_a_round_committed_in_station_waves_is_accepted_whole_and_reconciles_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A small district's wave would be the CLI's floor of 5,000; lower it so waves show.
    monkeypatch.setattr(city, "CLI_INGEST_BATCH", 10)
    line = _run()
    assert line["batch"] == city.EVENTS_PER_STATION_WAVE * line["stations"]
    assert line["batch"] < line["events"]
    _whole_and_exact(line)


def test_a_given_batch_size_is_kept() -> None:
    line = _run(batch=97)
    assert line["batch"] == 97
    _whole_and_exact(line)
