"""`tongxin bench city` at a small size: a whole valid round reconciles with no mismatch."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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


def test_the_line_tells_the_sqlite_page_caches_and_the_file_pages_read_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in /proc/vmstat whose refault count moves by 42 during the run.
    vmstat = tmp_path / "vmstat"
    reads = iter((1000, 1042))

    def refaults() -> int:
        vmstat.write_text(f"nr_free_pages 5\nworkingset_refault_file {next(reads)}\n")
        return real()

    real = city.file_cache_refaults
    monkeypatch.setattr(city, "_VMSTAT", str(vmstat))
    monkeypatch.setattr(city, "file_cache_refaults", refaults)
    monkeypatch.setenv("TONGXIN_SQLITE_CACHE_MB", "96")
    monkeypatch.setenv("TONGXIN_SQLITE_WRITER_CACHE_MB", "160")
    line = _run()
    assert line["file_pages_refaulted"] == 42
    sqlite = engine_under_test() == "sqlite"
    assert line["sqlite_cache_mb"] == (96 if sqlite else None)
    assert line["sqlite_writer_cache_mb"] == (160 if sqlite else None)


def test_the_line_tells_the_mb_read_per_stage_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in /proc/self/io whose read count grows by 3 MB at every look.
    io = tmp_path / "io"
    looks = iter(range(1000))

    def reads() -> int | None:
        io.write_text(f"rchar: {next(looks) * 3 * 1024 * 1024}\nwchar: 7\n")
        return real()

    real = city.bytes_read_by_calls
    monkeypatch.setattr(city, "_PROC_IO", str(io))
    monkeypatch.setattr(city, "bytes_read_by_calls", reads)
    line = _run()
    if engine_under_test() == "sqlite":
        assert set(line["read_mb"]) == set(line["seconds"])
        assert set(line["read_mb"].values()) == {3.0}
    else:
        assert line["read_mb"] is None


@pytest.mark.parametrize(
    ("path_attr", "read", "other_lines"),
    [
        ("_VMSTAT", city.file_cache_refaults, "nr_free_pages 5\n"),
        ("_PROC_IO", city.bytes_read_by_calls, "wchar: 5\n"),
    ],
)
def test_kernel_counters_are_unknown_without_their_file_or_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    path_attr: str,
    read: Callable[[], int | None],
    other_lines: str,
) -> None:
    monkeypatch.setattr(city, path_attr, str(tmp_path / "missing"))
    assert read() is None
    (tmp_path / "other").write_text(other_lines)
    monkeypatch.setattr(city, path_attr, str(tmp_path / "other"))
    assert read() is None


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
