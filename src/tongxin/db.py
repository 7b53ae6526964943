"""Engine factory, session scope and the shared declarative base.

Nothing here connects at import: callers build an engine from settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tongxin.settings import Settings

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on every engine.

    SQLite has no time zones and hands back naive values; comparing those with aware ones
    raises, so values are normalised here once instead of at every comparison.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every Tongxin table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Where an engine's dialect keeps the settings it was built from. Column types see only the
# dialect, and the encrypted ID-number columns need the key ring those settings name; keeping
# it per engine (not in a global) lets tests and benchmarks run engines with other keys.
SETTINGS_ATTR = "tongxin_settings"


def settings_of(dialect: Any) -> Settings | None:
    """Return the settings the engine of this dialect was built from, if it came from here."""
    found = getattr(dialect, SETTINGS_ATTR, None)
    return found if isinstance(found, Settings) else None


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create an engine for the configured database, tuned per engine."""
    engine = _create(settings, **kwargs)
    setattr(engine.dialect, SETTINGS_ATTR, settings)
    return engine


def _create(settings: Settings, **kwargs: Any) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            **kwargs,
        )
        _tune_sqlite(engine, settings)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine, settings: Settings) -> None:
    # WAL lets readers continue while the single writer commits; NORMAL sync is safe under WAL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint every ~80 MB of WAL instead of ~4 MB: capture commits batches of 500
        # events whose random-uuid index pages are scattered, and a checkpoint after nearly
        # every commit made ingest slow down as a round grew (bench city: 50 ms per commit
        # at 150k events; 18 ms with this).
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        # Negative cache_size is in KiB. Settings validate both as integers (no injection).
        cursor.execute(f"PRAGMA cache_size=-{int(settings.sqlite_cache_mb) * 1024}")
        cursor.execute(f"PRAGMA mmap_size={int(settings.sqlite_mmap_mb) * 1024 * 1024}")
        # A sort bigger than the page cache is cut into runs; helper threads sort them on
        # the other cores. Two unique indexes over 4 M rows: 24.7 s on one thread, 16.9 s
        # with one helper (1 M rows: 5.3 s and 4.5 s; decision 0018).
        cursor.execute(f"PRAGMA threads={int(settings.sqlite_sort_threads)}")
        cursor.close()


# Where a pooled SQLite connection remembers the page cache it was given for writing.
_WRITER_CACHE_KIB = "tongxin_writer_cache_kib"


def use_writer_cache(conn: Connection) -> None:
    """Give the connection that writes the custody ledger its own, larger page cache (SQLite).

    A wave of a big round touches every sampling station's part of each index, and at 4 M
    people that outgrows the 64 MB other connections keep: each commit read about six times
    that back (bench city's `read_mb`; decision 0019). The cache grows only as pages are
    read, and the pool keeps the setting with the connection, so it is set once.
    """
    if conn.dialect.name != "sqlite":
        return
    settings = settings_of(conn.dialect)
    if settings is None:
        return
    kib = int(settings.sqlite_writer_cache_mb) * 1024
    if conn.info.get(_WRITER_CACHE_KIB) == kib:
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{kib}")
    conn.info[_WRITER_CACHE_KIB] = kib


class WalCheckpointer:
    """Checkpoint an SQLite database's WAL from a background thread.

    Without it the commit that crosses `wal_autocheckpoint` copies the whole WAL into the
    database file and syncs it while its writer (and every request queued behind it) waits.
    Here a thread does that work every `interval_s` with a PASSIVE checkpoint, which never
    blocks writers; sqlite3 releases the GIL meanwhile, so it runs on the other core. The
    connections' own autocheckpoint stays as the fallback. Does nothing on PostgreSQL.
    """

    def __init__(self, engine: Engine, *, interval_s: float = 0.5) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WalCheckpointer:
        """Start checkpointing (SQLite only); return self for `with` use."""
        if self._engine.dialect.name == "sqlite" and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="tongxin-wal-checkpointer", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the checkpoint in progress, if any."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> WalCheckpointer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        connection = self._engine.raw_connection()
        try:
            while not self._stopping.wait(self._interval_s):
                cursor = connection.cursor()
                try:
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    cursor.close()
        finally:
            connection.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open the one transaction of a request or command: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"
