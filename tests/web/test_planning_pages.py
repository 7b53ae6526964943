"""Planning pages and API on a small generated district: what a commander sees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import _empty_all_tables
from tests.factories.planning import planned_district
from tests.web.conftest import add_user, sign_in
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.settings import Settings
from tongxin.web.app import create_app


@pytest.fixture(scope="module")
def admin(engine: Engine, settings: Settings, password_hash: str) -> Iterator[TestClient]:
    planned_district(engine, residents=3_000, people_per_site=1_000)
    with session_scope(make_sessionmaker(engine)) as s:
        add_user(s, password_hash, "admin", Role.ADMIN)
    with TestClient(create_app(settings, engine=engine)) as client:
        sign_in(client, "admin")
        yield client
    _empty_all_tables(engine)


def test_the_schedule_page_shows_objective_bound_gap_and_notices(admin: TestClient) -> None:
    page = admin.get("/planning/rounds/R1/schedule")
    assert page.status_code == 200
    assert "峰值预计排队" in page.text and "下界" in page.text and "差距" in page.text
    assert "请于 9月23日" in page.text and "绿色通道" in page.text


def test_a_site_sheet_has_its_queue_chart_and_rows(admin: TestClient) -> None:
    data = admin.get("/api/v1/planning/rounds/R1/schedule").json()
    code = data["sites"][0]["code"]
    page = admin.get(f"/planning/rounds/R1/schedule/sites/{code}")
    assert page.status_code == 200
    assert "<svg" in page.text and "上限 15 人" in page.text
    rows = [a for a in data["assignments"] if a["site"] == code]
    assert rows and all(a["label"] in page.text for a in rows)
    assert admin.get("/planning/rounds/R1/schedule/sites/NOPE").status_code == 404


def test_door_to_door_lists_show_masked_names(admin: TestClient) -> None:
    data = admin.get("/api/v1/planning/rounds/R1/schedule").json()
    page = admin.get("/planning/rounds/R1/home-visits")
    assert page.status_code == 200
    for route in data["home_routes"]:
        assert f"第{route['team']}组" in page.text
        for visit in route["visits"]:
            assert "*" in visit["name"] and visit["name"] in page.text


def test_the_capacity_page_answers_both_ways(admin: TestClient) -> None:
    forward = admin.get("/planning/capacity?population=50000&simulate=true")
    assert forward.status_code == 200
    assert 'id="analytic"' in forward.text and 'id="simulation"' in forward.text
    reverse = admin.get("/planning/capacity?population=1000000&mode=reverse")
    assert 'id="reverse"' in reverse.text and "334–500" in reverse.text
    bad = admin.get("/planning/capacity?population=1000&pool_mix=30:1")
    assert bad.status_code == 422 and "pool_mix" in bad.text


def test_the_api_advises_pools_and_capacity(admin: TestClient) -> None:
    assert admin.get("/api/v1/planning/pool?prevalence=0.01").json()["best_size"] == 10
    assert admin.get("/api/v1/planning/pool?prevalence=2").status_code == 422
    out = admin.get("/api/v1/planning/capacity?population=20000&simulate=true").json()
    assert set(out) == {"analytic", "simulation"}
    too_big = admin.get("/api/v1/planning/capacity?population=5000000&simulate=true")
    assert too_big.status_code == 422
    assert too_big.json()["detail"][0]["loc"] == ["query", "population"]


def test_a_request_does_not_simulate_more_sites_or_vehicles_than_it_answers_quickly(
    admin: TestClient,
) -> None:
    many_sites = "/api/v1/planning/capacity?population=1000&sites=100000&sampling_hours=72"
    refused = admin.get(f"{many_sites}&simulate=true")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "sites"]
    assert admin.get(many_sites).status_code == 200  # the analytic answer has no such limit
    vans = admin.get("/api/v1/planning/capacity?population=1000&vehicles=5000&simulate=true")
    assert vans.status_code == 422
    assert vans.json()["detail"][0]["loc"] == ["query", "vehicles"]
    page = admin.get(
        "/planning/capacity?population=1000&sites=100000&sampling_hours=72&simulate=true"
    )
    assert page.status_code == 422 and "tongxin plan capacity --simulate" in page.text
