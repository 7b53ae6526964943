"""Walk the screening pages in a browser on a round fed through the ledger; keep screenshots."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.browser.conftest import PASSWORD
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area, Resident
from tongxin.screening.ledger import ingest_events
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_lab, add_site, create_round, issue_tubes

pytestmark = pytest.mark.browser


def _event(kind: str, seq: int, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "device": "pad-1",
        "seq": seq,
        "type": kind,
        "at": at.isoformat(),
        "round": "R1",
        **fields,
    }


def feed_round(db: Engine, community_code: str) -> dict[str, str]:
    """Create round R1 over the community and send it a morning's events: 20 swabs, 3 tubes."""
    now = datetime.now(UTC)
    start = now - timedelta(hours=6)
    with session_scope(make_sessionmaker(db)) as s:
        community = s.scalar(select(Area).where(Area.code == community_code))
        district = s.get(Area, community.district_id)
        rnd = create_round(
            s,
            code="R1",
            name="第一轮全员核酸",
            district=district,
            targets=[(community, Zone.CONTROLLED)],
            starts_at=start,
        )
        add_lab(s, code="LAB1", name="金域检测", round=rnd)
        _site, stations = add_site(
            s, round=rnd, code="S1", name="新星社区广场", area=community, stations=2
        )
        tubes = issue_tubes(s, round=rnd, count=4, capacity=10).barcodes
        single = issue_tubes(s, round=rnd, count=1, capacity=1).barcodes[0]
        people = list(
            s.execute(select(Resident.resident_code, Resident.key_group).order_by(Resident.id))
        )
        at = start + timedelta(minutes=30)
        events = []
        seq = 0
        pooled = 0
        for i, (code, key_group) in enumerate(people):
            seq += 1
            # Key groups are tested singly; everyone else fills the 10:1 tubes in turn.
            tube = single if key_group else tubes[pooled // 10]
            pooled += 0 if key_group else 1
            events.append(
                _event(
                    "swab_taken",
                    seq,
                    at + timedelta(minutes=i),
                    station=stations[0].code,
                    person={"resident_code": code},
                    tube=tube,
                )
            )
        later = at + timedelta(hours=1)
        events += [
            _event("tube_closed", seq + 1, later, tube=tubes[0]),
            _event("tube_closed", seq + 2, later, tube=tubes[1], reason="排队人员已采完"),
            _event(
                "box_sealed",
                seq + 3,
                later,
                box="B1",
                tubes=[*tubes[:2], single],
                count=3,
                seal="S-001",
            ),
            _event(
                "handover",
                seq + 4,
                later + timedelta(minutes=10),
                boxes=["B1"],
                **{"from": "S1", "to": "courier-7"},
                confirmations=["from", "to"],
            ),
            _event("box_received", seq + 5, later + timedelta(hours=1), box="B1", lab="LAB1"),
            _event(
                "result_reported",
                seq + 6,
                later + timedelta(hours=3),
                tube=tubes[0],
                lab="LAB1",
                result="negative",
            ),
            _event(
                "result_reported",
                seq + 7,
                later + timedelta(hours=3),
                tube=tubes[1],
                lab="LAB1",
                result="positive",
            ),
            # A late swab for a tube already closed: kept as rejected, waiting in the queue.
            _event(
                "swab_taken",
                seq + 8,
                later,
                station=stations[0].code,
                person={
                    "id_number": "520113199001010013",
                    "name": "过路人",
                    "phone": "13900000000",
                },
                tube=tubes[0],
            ),
        ]
        answers = ingest_events(s, events=events, received_at=now)
        statuses = [a.status for a in answers]
        assert statuses == ["accepted"] * (len(events) - 1) + ["rejected"], answers
    return {"positive": tubes[1]}


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_round_overview_search_queue_and_recall_board(
    server: str, browser: Any, world: dict[str, str], db: Engine, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    fed = feed_round(db, world["community"])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server)

    page.click("nav.nav >> text=核酸检测")
    page.wait_for_url(server + "/rounds")
    page.click("text=第一轮全员核酸")
    page.wait_for_url(server + "/rounds/R1")
    expect(page.locator("h1")).to_have_text("第一轮全员核酸")
    expect(page.locator("[data-stage=sampled] td.num").first).to_contain_text("20")
    expect(page.locator("[data-testid=time-left]")).to_contain_text("小时")
    page.screenshot(path=str(screenshot_dir / "round.png"), full_page=True)

    page.click("nav.tabs >> text=试管/转运箱查询")
    page.fill("input[name=q]", fed["positive"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(".chain h2")).to_contain_text("阳性")
    expect(page.locator("table.members tbody tr")).to_have_count(9)

    page.click("nav.tabs >> text=待处理事件")
    expect(page.locator("table.rejected tbody tr[data-code=tube_closed]")).to_have_count(1)
    page.fill("input[name=resolution]", "第11人改用新管重采")
    page.click("text=标记已处理")
    expect(page.locator("[data-testid=queue-empty]")).to_be_visible()

    page.click("nav.tabs >> text=复核看板")
    rows = page.locator("table.recalls tbody tr")
    expect(rows).to_have_count(9)
    rows.first.locator("button").click()
    page.wait_for_url(server + "/rounds/R1/recalls")
    expect(page.locator("[data-state=notified]")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "recalls.png"), full_page=True)
    context.close()
