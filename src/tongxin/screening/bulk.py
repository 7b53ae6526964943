"""Bulk inserts for the capture hot path, without per-row SQLAlchemy processing.

On PostgreSQL rows go in with COPY. On SQLite SQLAlchemy compiles the INSERT once per table
and column set; the rows are converted here with the conversions these tables need (UTC
timestamps, JSON, sealed ID numbers) and handed to the driver's executemany. Both paths store
what `UtcDateTime`, `JSON` and `EncryptedString` would, so reads through the ORM are unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Connection, Dialect

from tongxin.db import UtcDateTime
from tongxin.privacy.types import EncryptedString


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given for a UTC timestamp column")
    # The exact text SQLAlchemy's SQLite DATETIME writes, so comparisons in SQL still hold.
    return (value.replace(tzinfo=None) - offset).isoformat(" ", "microseconds")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC timestamp column")
    return value.astimezone(UTC)


# Compact and without the circular-reference check: the payloads are parsed JSON already.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _sealed(kind: EncryptedString, dialect: Dialect, value: str | None) -> str | None:
    return kind.process_bind_param(value, dialect)


def _json(value: Any) -> str | None:
    return None if value is None else _encode(value)


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


@lru_cache(maxsize=64)
def _plan(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], bool, tuple[Converter, ...]]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ()) if compiled.positional else keys
    sqlite = dialect.name == "sqlite"
    converters: list[Converter] = []
    for key in order:
        kind = table.c[key].type
        if isinstance(kind, UtcDateTime):
            converters.append(_sqlite_time if sqlite else _utc)
        elif isinstance(kind, EncryptedString):
            converters.append(partial(_sealed, kind, dialect))
        elif isinstance(kind, JSON):
            converters.append(_json)
        else:
            converters.append(None)
    return compiled.string, order, compiled.positional, tuple(converters)


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
