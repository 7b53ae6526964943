"""Bulk inserts for the capture hot path, without per-row SQLAlchemy processing.

On PostgreSQL rows go in with COPY. On SQLite SQLAlchemy compiles the INSERT once per table
and column set; the rows are converted here with the conversions these tables need (UTC
timestamps, JSON, sealed ID numbers) and handed to the driver's executemany. Both paths store
what `UtcDateTime`, `JSON` and `EncryptedString` would, so reads through the ORM are unchanged.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Connection, Dialect

from tongxin.db import UtcDateTime
from tongxin.privacy.types import EncryptedString


@contextmanager
def relaxed_gc(threshold: int = 50_000) -> Iterator[None]:
    """Run bulk ingest with fewer cyclic-garbage passes; restore the collector afterwards.

    An ingest batch allocates hundreds of thousands of short-lived objects (parsed events,
    rows, answers) that reference counting frees; with the default threshold (700) the
    collector ran a young-generation pass every few events and, every so often, a full pass
    over everything the process holds: about 5 % of the service path's time. Nothing is
    disabled, only spaced: cycles are still found, a few hundred times less often.
    """
    previous = gc.get_threshold()
    gc.set_threshold(threshold, previous[1], previous[2])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


class _CollectorPause:
    """Counted pauses of the cyclic collector, safe when batches overlap in threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._was_enabled:
                    gc.enable()


_PAUSE = _CollectorPause()


def collector_paused() -> AbstractContextManager[None]:
    """Hold the cyclic collector off while one ingest batch is decided and stored.

    A batch's parsed events, loaded state and rows all stay alive until it ends, and every
    collector pass that reaches an older generation walks all of them, so the collector's
    cost per event grew with the batch: 5 % of the swab stage's processor time in a 1 M
    `bench city` (waves of 5,764), 11 % at 4 M (waves of 23,100), measured with perf.
    Reference counting frees the batch's objects when it ends; any cycle made meanwhile waits
    for the first pass after it. The last of overlapping batches turns the collector back on,
    and only if it was on when the first began.
    """
    return _PAUSE.held()


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given for a UTC timestamp column")
    # The exact text SQLAlchemy's SQLite DATETIME writes, so comparisons in SQL still hold.
    return (value.replace(tzinfo=None) - offset).isoformat(" ", "microseconds")


# A batch writes the same event time into several rows (the event, its swab, the tube it
# opened or closed), as the same object: its text is worked out once. Entries hold their
# datetime, so an id is never reused while cached; the cache is emptied when it gets big.
_TIME_TEXT: dict[int, tuple[datetime, str | None]] = {}
_TIME_TEXT_MAX = 65_536


def _sqlite_time_cached(value: datetime | None) -> str | None:
    hit = _TIME_TEXT.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    text = _sqlite_time(value)
    if value is not None:
        if len(_TIME_TEXT) >= _TIME_TEXT_MAX:
            _TIME_TEXT.clear()
        _TIME_TEXT[id(value)] = (value, text)
    return text


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC timestamp column")
    return value.astimezone(UTC)


# The standard encoder, compact, for what orjson refuses (integers beyond 64 bits).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def dump_json(value: Any) -> str:
    """Encode parsed JSON compactly: orjson (ten times faster on event payloads), else stdlib.

    Payloads reach here from `ledger.load_json`, which refuses NaN and infinities, so
    orjson's one lossy rule (NaN as null) never applies; a too-large integer makes it raise
    and the standard encoder writes it exactly.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _encode(value)


def _sealed(kind: EncryptedString, dialect: Dialect, value: str | None) -> str | None:
    return kind.process_bind_param(value, dialect)


def _json(value: Any) -> str | None:
    return None if value is None else dump_json(value)


def _remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a converter so a value repeated row after row (a batch's time) converts once."""
    last: list[Any] = [object(), None]

    def remembered(value: Any) -> Any:
        if value is not last[0]:
            last[0] = value
            last[1] = convert(value)
        return last[1]

    return remembered


Converter = Callable[[Any], Any] | None


def _converter(kind: Any, dialect: Dialect) -> Converter:
    if isinstance(kind, UtcDateTime):
        return _sqlite_time_cached if dialect.name == "sqlite" else _utc
    if isinstance(kind, EncryptedString):
        return partial(_sealed, kind, dialect)
    if isinstance(kind, JSON):
        return _json
    return None


@lru_cache(maxsize=64)
def _plan(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], bool, tuple[Converter, ...]]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ()) if compiled.positional else keys
    converters = tuple(_converter(table.c[key].type, dialect) for key in order)
    return compiled.string, order, compiled.positional, converters


@lru_cache(maxsize=64)
def _statement_plan(
    stmt: Any, dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[Converter, ...], dict[str, Any]]:
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ())
    converters = tuple(_converter(compiled.binds[name].type, dialect) for name in order)
    # Values written into the statement itself (`capacity == 0`) become binds with a value.
    constants = {n: b.value for n, b in compiled.binds.items() if not b.required}
    return compiled.string, order, converters, constants


def execute_rows(conn: Connection, stmt: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Run a prepared statement (bindparams only) once per row; return the rows it matched.

    On SQLite the parameters are converted here and go to the driver's executemany: for an
    UPDATE of a few columns SQLAlchemy's per-row parameter processing cost more than the
    statement. On PostgreSQL the statement goes through SQLAlchemy, whose psycopg path
    batches it already.
    """
    if not rows:
        return 0
    if conn.dialect.name != "sqlite":
        return int(conn.execute(stmt, list(rows)).rowcount)
    sql, order, converters, constants = _statement_plan(stmt, conn.dialect)
    values = itemgetter(*order)
    convert = [(i, f) for i, f in enumerate(converters) if f is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        if constants:
            row = {**constants, **row}
        item = list(values(row)) if len(order) > 1 else [values(row)]
        for i, f in convert:
            item[i] = f(item[i])
        params.append(tuple(item))
    return int(conn.exec_driver_sql(sql, params).rowcount)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, with one driver executemany."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, rows)
        return
    sql, order, positional, converters = _plan(table, tuple(rows[0]), conn.dialect)
    convert = [(i, _remembering(f)) for i, f in enumerate(converters) if f is not None]
    params: list[Any] = []
    if positional:
        values = itemgetter(*order)
        for row in rows:
            item = list(values(row))
            for i, f in convert:
                item[i] = f(item[i])
            params.append(tuple(item))
    else:
        named = [(order[i], f) for i, f in convert]
        for row in rows:
            copy = dict(row)
            for key, f in named:
                copy[key] = f(copy[key])
            params.append(copy)
    conn.exec_driver_sql(sql, params)


def _copy_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # COPY is PostgreSQL's fastest way in: one stream instead of a statement per row. It
    # runs on the same connection, so inside the caller's transaction.
    keys = list(rows[0])
    json_keys = {k for k in keys if isinstance(table.c[k].type, JSON)}
    sealed = [(k, t) for k in keys if isinstance(t := table.c[k].type, EncryptedString)]
    if sealed:
        rows = [
            {**row, **{k: t.process_bind_param(row[k], conn.dialect) for k, t in sealed}}
            for row in rows
        ]
    columns = ", ".join(f'"{k}"' for k in keys)
    driver = conn.connection.driver_connection
    assert driver is not None
    sql = f'COPY "{table.name}" ({columns}) FROM STDIN'
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([_json(row[k]) if k in json_keys else row[k] for k in keys])
