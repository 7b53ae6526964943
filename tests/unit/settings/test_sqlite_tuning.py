"""Each SQLite connection takes its page cache and memory map from the settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tongxin.db import make_engine
from tongxin.settings import Settings


def _pragmas(settings: Settings) -> tuple[int, int, str]:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return (
                int(connection.scalar(text("PRAGMA cache_size"))),
                int(connection.scalar(text("PRAGMA mmap_size"))),
                str(connection.scalar(text("PRAGMA journal_mode"))),
            )
    finally:
        engine.dispose()


def test_the_default_cache_is_64_mb_and_no_memory_map(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/a.db")
    assert _pragmas(settings) == (-64 * 1024, 0, "wal")


def test_a_configured_cache_and_memory_map_reach_every_connection(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/b.db", sqlite_cache_mb=256, sqlite_mmap_mb=512
    )
    assert _pragmas(settings) == (-256 * 1024, 512 * 1024 * 1024, "wal")
