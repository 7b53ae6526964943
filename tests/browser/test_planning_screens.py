"""A commander plans a round in the browser: schedule, a site's sheet, the capacity page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.browser.test_screening_screens import _sign_in
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_site, create_round

pytestmark = pytest.mark.browser


def _round(db: Engine, community_code: str) -> None:
    # Tomorrow at 08:00 China time, so every slot is in the future.
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(1)
    with session_scope(make_sessionmaker(db)) as s:
        community = s.scalar(select(Area).where(Area.code == community_code))
        district = s.get(Area, community.district_id)
        rnd = create_round(
            s,
            code="R1",
            name="第一轮全员核酸",
            district=district,
            targets=[(community, Zone.PRECAUTION)],
            starts_at=start,
        )
        add_site(s, round=rnd, code="S1", name="新星社区广场", area=community, stations=2)


def test_commander_reads_the_schedule_and_a_site_sheet(
    server: str, browser: Any, world: dict[str, str], db: Engine, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    _round(db, world["community"])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server)

    page.goto(server + "/rounds/R1")
    page.click("nav.tabs >> text=错峰排班")
    page.wait_for_url(server + "/planning/rounds/R1/schedule")
    expect(page.locator("#objective")).to_contain_text("峰值预计排队")
    expect(page.locator("#notices p.notice").first).to_contain_text("新星社区广场")
    page.screenshot(path=str(screenshot_dir / "planning-schedule.png"), full_page=True)

    page.click("text=新星社区广场")
    page.wait_for_url(server + "/planning/rounds/R1/schedule/sites/S1")
    expect(page.locator("section.chart svg")).to_be_visible()
    expect(page.locator("table.table tbody tr").first).to_contain_text("尖山小区")
    page.screenshot(path=str(screenshot_dir / "planning-site.png"), full_page=True)

    page.click("nav.nav >> text=规划")
    page.wait_for_url(server + "/planning/capacity")
    page.fill("input[name=population]", "1000000")
    page.select_option("select[name=mode]", "reverse")
    page.click("form[action='/planning/capacity'] button[type=submit]")
    expect(page.locator("#reverse")).to_contain_text("334–500")
    page.screenshot(path=str(screenshot_dir / "planning-capacity.png"), full_page=True)
