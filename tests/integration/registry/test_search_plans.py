"""The resident list and its searches must be answerable from an index on both engines.

With a few hundred rows a planner may rightly prefer a table scan, so on PostgreSQL the
test switches sequential scans off: what it proves is that the statement's shape lets an
index answer it (an OFFSET, a leading-wildcard LIKE or a function on the column would not).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories.registry import Tree, add_residents, build_tree
from tests.integration.query_plans import query_plan
from tongxin.registry.queries import Scope
from tongxin.registry.search import ResidentSearch, SearchTerms, count_query, page_query


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    # The community under test holds a small share of the residents, as any one does in a
    # district; otherwise walking the primary key would rightly win.
    add_residents(session, tree.household, 30)
    add_residents(session, tree.other_household, 460, start=30)
    analyse = "ANALYZE" if session.connection().dialect.name == "sqlite" else "ANALYZE residents"
    session.execute(text(analyse))
    return tree


def _search(tree: Tree, **kwargs: Any) -> ResidentSearch:
    terms = kwargs.pop("terms", SearchTerms())
    return ResidentSearch(
        **{"area": tree.community, "building": None, "after": None, "limit": 50, **kwargs},
        terms=terms,
    )


@pytest.mark.parametrize(
    ("case", "index"),
    [
        ("first page of a community", "ix_residents_community_id_id"),
        ("later page of a community", "ix_residents_community_id_id"),
        ("phone suffix of 4", "ix_residents_phone_tail"),
        ("phone suffix of 8", "ix_residents_phone_tail"),
        ("id suffix", "ix_residents_id_tail"),
        ("building", "ix_residents_building_id_id"),
    ],
)
def test_list_page_and_its_count_use_an_index(session, tree, case, index):
    search = {
        "first page of a community": _search(tree),
        "later page of a community": _search(tree, after=10),
        "phone suffix of 4": _search(tree, terms=SearchTerms(phone="0007")),
        "phone suffix of 8": _search(tree, terms=SearchTerms(phone="00000007")),
        "id suffix": _search(tree, terms=SearchTerms(id_suffix="0013")),
        "building": _search(tree, building=tree.building),
    }[case]

    for statement in (
        page_query(Scope.everything(), search),
        count_query(Scope.everything(), search),
    ):
        plan = query_plan(session, statement)
        assert index in plan, plan
        assert "Seq Scan" not in plan and "SCAN residents" not in plan, plan


def test_name_prefix_search_uses_the_name_index_without_an_area(session, tree):
    search = _search(tree, area=None, terms=SearchTerms(name="居民1"))

    plan = query_plan(session, count_query(Scope.everything(), search))

    assert "ix_residents_name" in plan, plan


def test_a_scoped_users_list_uses_their_jurisdictions_index(session, tree):
    search = _search(tree, area=None)

    plan = query_plan(session, page_query(Scope.under(tree.community), search))

    assert "ix_residents_community_id_id" in plan, plan
