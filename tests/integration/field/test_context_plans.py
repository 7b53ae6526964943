"""A device's context reads its site's tubes by index, not by walking the round's tubes.

As in tests/integration/registry/test_search_plans.py, PostgreSQL runs with sequential scans
off: what is proven is that the statement's shape lets the station index answer it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from tests.factories.screening import build_round
from tongxin.field.service import site_tubes


def _plan(session: Session, statement: Select[Any]) -> str:
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return " | ".join(r[-1] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    (plan,) = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).one()
    return json.dumps(plan if not isinstance(plan, str) else json.loads(plan))


def test_the_tubes_of_a_site_come_from_the_station_index(session: Session) -> None:
    rs = build_round(session, residents=0)
    session.execute(text("ANALYZE" if session.bind.dialect.name == "sqlite" else "ANALYZE tubes"))

    plan = _plan(session, site_tubes([st.id for st in rs.stations]))

    assert "ix_tubes_station_id" in plan, plan
    assert "Seq Scan" not in plan and "SCAN tubes" not in plan, plan
