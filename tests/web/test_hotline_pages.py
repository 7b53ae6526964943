"""The hotline desk, case page, board, statistics and JSON API through the app."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories.hotline import build_hotline
from tests.web.conftest import World, add_user, form_token, post_form, sign_in
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.hotline.models import HotlineCase
from tongxin.registry.models import Area


@pytest.fixture
def hotline_world(db: Engine, world: World, password_hash: str) -> World:
    """Add the street's hotline, an operator of it and a supervisor of the street."""
    with session_scope(make_sessionmaker(db)) as s:
        street = s.scalar(select(Area).where(Area.code == world.street))
        add_user(s, password_hash, "op", Role.HOTLINE_OPERATOR, jurisdiction_id=street.id)
        add_user(s, password_hash, "sup", Role.HOTLINE_SUPERVISOR, jurisdiction_id=street.id)
        op = s.scalar(select(User).where(User.username == "op"))
        build_hotline(s, street, [op])
    return world


@pytest.fixture
def operator(client: TestClient, hotline_world: World) -> TestClient:
    sign_in(client, "op")
    return client


def _csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": form_token(client, "/hotline")}


def test_the_desk_takes_a_call_and_routes_it_to_the_residents_community(operator, hotline_world):
    code = hotline_world.codes["居民3"]
    answer = post_form(
        operator,
        "/hotline/intake",
        {
            "hotline": "QH-01",
            "caller_phone": "13800000003",
            "caller_name": "居民3",
            "resident_code": code,
            "description": "家里老人降压药吃完了",
            "client_request_id": "desk-1",
        },
        page="/hotline",
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = operator.get(answer.headers["location"])
    assert "新星社区" in page.text and "医疗" in page.text
    desk = operator.get("/hotline").text
    assert "家里" not in desk or "RX" in desk


def test_the_desk_offers_to_attach_a_repeat_call(operator, hotline_world):
    fields = {"hotline": "QH-01", "caller_phone": "13800000003", "description": "降压药吃完了"}
    first = post_form(operator, "/hotline/intake", fields, page="/hotline", follow_redirects=False)
    assert first.status_code == 303
    offer = post_form(
        operator, "/hotline/intake", {**fields, "description": "还没送到"}, page="/hotline"
    )
    assert offer.status_code == 200 and 'data-testid="repeat-offer"' in offer.text
    code = first.headers["location"].split("/")[-1].split("?")[0]
    attached = post_form(
        operator,
        "/hotline/intake",
        {**fields, "description": "还没送到", "attach_to": code},
        page="/hotline",
        follow_redirects=False,
    )
    assert attached.headers["location"] == f"/hotline/cases/{code}?done=attached"


def test_bad_intake_is_refused_with_the_field_named_and_nothing_written(operator, db):
    answer = post_form(
        operator,
        "/hotline/intake",
        {"hotline": "QH-01", "caller_phone": "12", "description": ""},
        page="/hotline",
    )
    assert answer.status_code == 422 and "caller_phone" in answer.text
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(HotlineCase.id)) is None


def test_the_api_intake_is_idempotent_with_the_client_request_id(operator, hotline_world):
    body = {
        "hotline": "QH-01",
        "caller_phone": "13900000001",
        "description": "孩子发烧39度需要去医院",
        "client_request_id": "tel-42",
    }
    first = operator.post("/api/v1/hotline/cases", json=body, headers=_csrf(operator))
    assert first.status_code == 201, first.text
    assert first.json()["category"] == "medical" and first.json()["outcome"] == "created"
    again = operator.post("/api/v1/hotline/cases", json=body, headers=_csrf(operator))
    assert again.status_code == 200
    assert again.json()["code"] == first.json()["code"] and again.json()["outcome"] == "replayed"
    ask = operator.post(
        "/api/v1/hotline/cases",
        json={**body, "client_request_id": "tel-43", "on_repeat": "ask"},
        headers=_csrf(operator),
    )
    assert ask.status_code == 409 and first.json()["code"] in ask.json()["detail"]


def test_api_updates_move_the_case_and_a_resend_changes_nothing(operator, hotline_world):
    made = operator.post(
        "/api/v1/hotline/cases",
        json={"hotline": "QH-01", "caller_phone": "13900000001", "description": "楼道的灯坏了"},
        headers=_csrf(operator),
    ).json()
    url = f"/api/v1/hotline/cases/{made['code']}/updates"
    step = {"kind": "action", "action": "resolve", "client_request_id": "u-1"}
    assert operator.post(url, json=step, headers=_csrf(operator)).json()["state"] == "resolved"
    resent = operator.post(url, json=step, headers=_csrf(operator))
    assert resent.status_code == 200 and resent.json()["outcome"] == "replayed"
    close = operator.post(url, json={"kind": "action", "action": "close"}, headers=_csrf(operator))
    assert close.status_code == 409 and "callback_required" in close.json()["detail"]
    case = operator.get(f"/api/v1/hotline/cases/{made['code']}").json()
    assert [e["kind"] for e in case["timeline"]] == ["opened", "state", "state"]


def test_resident_hints_by_phone_name_and_building(operator, hotline_world):
    by_phone = operator.get("/api/v1/hotline/residents", params={"q": "00003"}).json()
    assert [h["name"] for h in by_phone] == ["居民3"]
    by_name = operator.get("/api/v1/hotline/residents", params={"q": "居民10"}).json()
    assert {h["name"] for h in by_name} >= {"居民10", "居民100"}
    by_building = operator.get("/api/v1/hotline/residents", params={"q": "1栋 居民2"}).json()
    assert by_building and all("1栋" in h["address"] for h in by_building)


def test_the_supervisor_sees_the_board_and_exports_statistics(client, hotline_world):
    sign_in(client, "op")
    client.post(
        "/api/v1/hotline/cases",
        json={"hotline": "QH-01", "caller_phone": "13900000001", "description": "小区封控买不到菜"},
        headers=_csrf(client),
    )
    client.post("/logout", data={"csrf_token": form_token(client, "/hotline")})
    sign_in(client, "sup")
    board = client.get("/hotline/board")
    assert board.status_code == 200 and "物资" in board.text
    assert (
        client.get("/hotline/board", params={"category": "medical"}).text.count("data-case=") == 0
    )
    stats = client.get("/hotline/stats")
    assert stats.status_code == 200 and "<svg" in stats.text
    xlsx = client.get("/hotline/stats.xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "按热线"
