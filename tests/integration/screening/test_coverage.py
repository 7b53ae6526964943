"""Coverage: tested and untested present residents per child node, from swabs of the round."""

from __future__ import annotations

from sqlalchemy import update

from tests.factories.registry import add_residents
from tests.factories.screening import build_round
from tests.integration.screening.custody import residents, swab
from tongxin.registry.models import Resident
from tongxin.screening.coverage import coverage, total
from tongxin.screening.rules import Zone
from tongxin.screening.setup import create_round


def _rows(rows):
    return [(r.code, r.present, r.tested, r.untested) for r in rows]


def _staged(session):
    r = build_round(session)
    add_residents(session, r.tree.other_household, 5, start=100)
    people = residents(session)
    # 12 of 新星社区's 30 tested (one of them twice), 1 of 尖山社区's 5; two moved away.
    swab(session, r, r.tubes10[0], people[:10])
    swab(session, r, r.tubes10[1], [*people[10:12], people[0]])
    swab(session, r, r.tubes1[0], [people[30]])
    session.execute(
        update(Resident)
        .where(Resident.id.in_([people[29].id, people[34].id]))
        .values(status="moved_out")
    )
    return r


def test_coverage_splits_present_residents_per_child_node(session):
    r = _staged(session)

    rows = coverage(session, round_id=r.round.id, area=r.tree.street)

    assert _rows(rows) == [
        ("520113001001", 29, 12, 17),
        ("520113001002", 4, 1, 3),
    ]
    assert total(rows) == {"present": 33, "tested": 13, "untested": 20}


def test_coverage_walks_down_to_compounds_buildings_and_units(session):
    r = _staged(session)
    rid = r.round.id

    assert _rows(coverage(session, round_id=rid, area=r.tree.community)) == [
        ("520113001001-01", 29, 12, 17)
    ]
    assert _rows(coverage(session, round_id=rid, area=r.tree.building)) == [
        ("520113001001-01-01-1", 29, 12, 17)
    ]
    # 尖山社区's building has no units: its households hang on the building itself.
    assert _rows(coverage(session, round_id=rid, area=r.tree.other_building)) == [
        ("520113001002-01-01", 4, 1, 3)
    ]
    assert _rows(coverage(session, round_id=rid, area=r.tree.district)) == [
        ("520113001", 33, 13, 20)
    ]


def test_swabs_of_another_round_do_not_count(session):
    r = _staged(session)
    other = create_round(
        session,
        code="R2",
        name="第二轮",
        district=r.tree.district,
        targets=[(r.tree.community, Zone.CONTROLLED)],
        starts_at=r.round.starts_at,
    )

    rows = coverage(session, round_id=other.id, area=r.tree.street)

    assert [(row.tested, row.untested) for row in rows] == [(0, 29), (0, 4)]
