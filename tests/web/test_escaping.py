"""Script payloads typed into any free-text field come back escaped on every page.

Each payload goes in where a person or a device can type it (an imported sheet, a search
box, a resolution note, a round, site or user name, a device's event) and the pages that
show it must hold the escaped text and never the raw markup. `{{7*7}}` checks that text is
never rendered as a template.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.registry import resident_id
from tests.factories.screening import ROUND_START, RoundSetup, build_round
from tests.web.conftest import add_user, sign_in
from tests.web.conftest import post_form as post_with_token
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Resident
from tongxin.screening.models import DeviceToken, Event
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_site, create_round, issue_device_token

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
PAYLOADS = [SCRIPT, ATTRIBUTE, TEMPLATE]


def post_form(
    client: TestClient, url: str, data: dict[str, str], files: dict[str, Any] | None = None
) -> Response:
    """Post a form as a browser would, with the CSRF token its page carries."""
    return post_with_token(client, url, data, files=files, follow_redirects=False)


def assert_escaped(html: str, payload: str) -> None:
    """The page shows the payload as text: its escaped form is there, its raw markup is not."""
    assert str(escape(payload)) in html, f"{payload!r} is not shown escaped"
    if payload != TEMPLATE:
        assert payload not in html, f"{payload!r} is in the page unescaped"
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html


HEADER = ["姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号"]


def _sheet(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def _import(client: TestClient, community: str, rows: list[list[str]]) -> Response:
    return post_form(
        client,
        "/registry/import",
        {"community": community},
        files={"file": ("居民.csv", _sheet(rows), "text/csv")},
    )


def _code_of(db: Engine, name: str) -> str:
    with session_scope(make_sessionmaker(db)) as s:
        code = s.scalar(select(Resident.resident_code).where(Resident.name == name))
    assert code is not None, name
    return code


def test_imported_names_units_and_rooms_are_escaped_on_the_registry_pages(admin, world, db):
    # Rooms hold at most 20 characters: a short tag stands in for the payloads there.
    rows = [
        [
            *(p, "男", "1980-05-17", resident_id(600 + 2 * i), f"1390000{i:04d}"),
            *("尖山小区", "1栋", f"{i + 2}{p}", f"<b>{i}</b>"),
        ]
        for i, p in enumerate(PAYLOADS)
    ]
    imported = _import(admin, world.community, rows)
    assert imported.status_code == 200, imported.text

    pages = [
        admin.get("/residents", params={"area": world.community, "name": p}).text for p in PAYLOADS
    ]
    for payload, page in zip(PAYLOADS, pages, strict=True):
        assert_escaped(page, payload)
        detail = admin.get(f"/residents/{_code_of(db, payload)}").text
        assert_escaped(detail, payload)
        assert "&lt;b&gt;" in detail and "<b>" not in detail
        assert_escaped(admin.get(f"/areas/{world.building}").text, payload)


def test_a_refused_import_shows_the_offending_cells_escaped(admin, world):
    rows = [
        ["王五", p, "1980-05-17", resident_id(700 + 2 * i), "", "尖山小区", "1栋", "1单元", "9"]
        for i, p in enumerate(PAYLOADS)
    ]
    refused = _import(admin, world.community, rows)

    assert refused.status_code == 422
    for payload in PAYLOADS:
        assert_escaped(refused.text, payload)


@pytest.mark.parametrize("field", ["name", "area", "building"])
def test_search_boxes_echo_their_text_escaped(admin, world, field):
    for payload in PAYLOADS:
        page = admin.get("/residents", params={field: payload})
        assert page.status_code in (200, 400, 404)
        if page.status_code != 404:
            assert_escaped(page.text, payload)


def test_an_import_into_an_unknown_payload_community_is_not_found_and_not_echoed_raw(admin, world):
    for payload in PAYLOADS:
        page = _import(admin, payload, [["张三", "男"]])
        # An unknown community reads like one outside the jurisdiction: not found.
        assert page.status_code == 404
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text


def test_a_display_name_is_escaped_in_the_page_header(client: TestClient, world, db, password_hash):
    with session_scope(make_sessionmaker(db)) as s:
        for i, payload in enumerate(PAYLOADS):
            add_user(s, password_hash, f"user{i}", Role.ADMIN, display_name=payload)
    for i, payload in enumerate(PAYLOADS):
        sign_in(client, f"user{i}")
        assert_escaped(client.get("/residents").text, payload)
        client.cookies.clear()


# --- screening: round and site names, device text, resolution notes, custody search ---


@pytest.fixture
def screening(client: TestClient, db: Engine, password_hash: str) -> tuple[TestClient, RoundSetup]:
    """A round named by a payload, sites named by payloads, and a signed-in administrator."""
    with session_scope(make_sessionmaker(db)) as s:
        rs = build_round(s)
        for i, payload in enumerate(PAYLOADS):
            add_site(
                s,
                round=rs.round,
                code=f"X{i}",
                name=payload,
                area=rs.tree.community,
                stations=1,
            )
            create_round(
                s,
                code=f"RX{i}",
                name=payload,
                district=rs.tree.district,
                targets=[(rs.tree.community, Zone.CONTROLLED)],
                starts_at=ROUND_START,
            )
        s.execute(delete(DeviceToken))
        now = datetime.now(UTC)
        rs.site_token, _ = issue_device_token(
            s, round=rs.round, device="pad-1", now=now, site=rs.site
        )
        add_user(s, password_hash, "admin", Role.ADMIN, display_name="管理员")
    sign_in(client, "admin")
    return client, rs


def test_round_and_site_names_are_escaped_on_the_round_pages(screening):
    client, rs = screening
    rounds = client.get("/rounds").text
    board = client.get(f"/rounds/{rs.round.code}").text
    for i, payload in enumerate(PAYLOADS):
        assert_escaped(rounds, payload)
        assert_escaped(board, payload)
        assert_escaped(client.get(f"/rounds/{rs.round.code}/sites/X{i}").text, payload)
        assert_escaped(client.get(f"/rounds/RX{i}").text, payload)


def test_device_text_and_resolution_notes_are_escaped_on_the_rejected_queue(screening, db):
    client, rs = screening
    pad = Device(name="pad-1")
    events = [pad.swab(rs.stations[0].code, payload, resident_id(1)) for payload in PAYLOADS]
    answered = client.post(
        "/api/v1/capture/events",
        json=events,
        headers={"Authorization": f"Bearer {rs.site_token}"},
    )
    assert answered.status_code == 200, answered.text
    assert {r["status"] for r in answered.json()["results"]} == {"rejected"}

    queue = client.get(f"/rounds/{rs.round.code}/rejected").text
    for payload in PAYLOADS:
        assert_escaped(queue, payload)

    for event, payload in zip(events, PAYLOADS, strict=True):
        done = post_form(
            client,
            f"/rounds/{rs.round.code}/rejected/{event['id']}/resolve",
            {"resolution": payload},
        )
        assert done.status_code == 303, done.text
        after = client.get(done.headers["location"]).text
        assert "<script>alert(1)" not in after
        assert "<img src=x" not in after
    with session_scope(make_sessionmaker(db)) as s:
        notes = set(s.scalars(select(Event.resolution).where(Event.resolution.is_not(None))))
    assert notes == set(PAYLOADS)


def test_a_problem_in_the_rejected_page_link_is_escaped(screening):
    client, rs = screening
    for payload in PAYLOADS:
        page = client.get(f"/rounds/{rs.round.code}/rejected", params={"problem": payload}).text
        assert_escaped(page, payload)


def test_the_custody_search_echoes_its_query_escaped(screening):
    client, rs = screening
    for payload in PAYLOADS:
        page = client.get(f"/rounds/{rs.round.code}/search", params={"q": payload})
        assert page.status_code == 404
        assert_escaped(page.text, payload)
