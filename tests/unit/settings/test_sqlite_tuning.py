"""Each SQLite connection takes its page cache, memory map and sort threads from the settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tongxin.db import make_engine
from tongxin.screening.projections import take_writer_lock
from tongxin.settings import Settings


def _pragmas(settings: Settings) -> tuple[int, int, int, str]:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return (
                int(connection.scalar(text("PRAGMA cache_size"))),
                int(connection.scalar(text("PRAGMA mmap_size"))),
                int(connection.scalar(text("PRAGMA threads"))),
                str(connection.scalar(text("PRAGMA journal_mode"))),
            )
    finally:
        engine.dispose()


def test_the_default_cache_is_64_mb_no_memory_map_and_one_sort_helper(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/a.db")
    assert _pragmas(settings) == (-64 * 1024, 0, 1, "wal")


def test_a_configured_cache_memory_map_and_sort_threads_reach_every_connection(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/b.db",
        sqlite_cache_mb=256,
        sqlite_mmap_mb=512,
        sqlite_sort_threads=0,
    )
    assert _pragmas(settings) == (-256 * 1024, 512 * 1024 * 1024, 0, "wal")


def test_the_connection_that_writes_the_ledger_keeps_the_larger_writer_cache(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/c.db", sqlite_cache_mb=32, sqlite_writer_cache_mb=300
    )
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE rounds (id INTEGER PRIMARY KEY)")
        with engine.connect() as writer, engine.connect() as reader:
            with writer.begin():
                take_writer_lock(writer)
            assert writer.scalar(text("PRAGMA cache_size")) == -300 * 1024
            assert reader.scalar(text("PRAGMA cache_size")) == -32 * 1024
    finally:
        engine.dispose()
