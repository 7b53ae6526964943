"""A device's context reads its site's tubes by index, not by walking the round's tubes.

As in tests/integration/registry/test_search_plans.py, PostgreSQL runs with sequential scans
off: what is proven is that the statement's shape lets the station index answer it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories.screening import build_round
from tests.integration.query_plans import query_plan
from tongxin.field.service import site_tubes


def test_the_tubes_of_a_site_come_from_the_station_index(session: Session) -> None:
    rs = build_round(session, residents=0)
    session.execute(text("ANALYZE" if session.bind.dialect.name == "sqlite" else "ANALYZE tubes"))

    plan = query_plan(session, site_tubes([st.id for st in rs.stations]))

    assert "ix_tubes_station_id" in plan, plan
    assert "Seq Scan" not in plan and "SCAN tubes" not in plan, plan
