"""The plan a database would use for a statement, for tests that prove an index answers it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select


def query_plan(session: Session, statement: Select[Any]) -> str:
    """Return the statement's plan as text: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's JSON.

    On PostgreSQL sequential scans are switched off for the transaction: with a few hundred
    rows a planner may rightly prefer a table scan, and what the tests prove is that the
    statement's shape lets an index answer it.
    """
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return " | ".join(r[-1] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    (plan,) = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).one()
    return json.dumps(plan if not isinstance(plan, str) else json.loads(plan))
