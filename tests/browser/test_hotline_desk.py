"""A call taken end to end in a real browser: intake to closing, and a repeat call attached."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.browser.conftest import PASSWORD
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.hotline.service import add_hotline
from tongxin.registry.models import Area

pytestmark = pytest.mark.browser


@pytest.fixture
def hotline_desk(db: Engine, world: dict[str, str]) -> None:
    """Add the street's hotline, its operator and the street's hotline supervisor."""
    with session_scope(make_sessionmaker(db)) as s:
        street = s.scalar(select(Area).where(Area.code == "520113001"))
        assert street is not None
        hashed = PasswordHasher().hash(PASSWORD)
        users = []
        for username, role, display in (
            ("jiexian", Role.HOTLINE_OPERATOR, "泉湖热线 李接线"),
            ("dudao", Role.HOTLINE_SUPERVISOR, "泉湖街道 督办员"),
        ):
            user = User(
                username=username,
                display_name=display,
                password_hash=hashed,
                role=role.value,
                jurisdiction_id=street.id,
                is_active=True,
                created_at=datetime.now(UTC),
            )
            s.add(user)
            users.append(user)
        s.flush()
        add_hotline(
            s,
            code="QH-01",
            name="泉湖街道求助热线",
            number="0851-86000001",
            organisation="泉湖街道办事处",
            jurisdiction=street,
            hours="24小时",
            operators=users[:1],
        )


def _sign_in(page: Any, base: str, username: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + target)


def test_a_call_taken_end_to_end_and_a_repeat_call_attached(
    server: str, browser: Any, world: dict[str, str], hotline_desk: None, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server, "jiexian", "/hotline")
    expect(page.locator("h1")).to_have_text("热线受理台")

    # Intake by keyboard: the caller's number (digits match a number's end, as the
    # registry's search does) suggests 李秀英; Enter takes her.
    page.locator("input[name=caller_phone]").press_sequentially("13985012233")
    hint = page.locator("#hints li").first
    expect(hint).to_contain_text("李秀英")
    page.locator("input[name=caller_phone]").press("Enter")
    expect(page.locator("input[name=caller_name]")).to_have_value("李秀英")
    expect(page.locator("input[name=caller_phone]")).to_have_value("13985012233")
    expect(page.locator("input[name=resident_code]")).not_to_have_value("")

    # The description suggests a category; Alt+S accepts it.
    page.locator("textarea[name=description]").fill("家里老人降压药吃完了,卧床出不了门")
    # The first suggestion builds the segmenter in the server (about a second, once).
    expect(page.locator("#suggestion")).to_be_visible(timeout=30_000)
    expect(page.locator("#suggestion [data-category]")).to_have_text("医疗")
    page.locator("textarea[name=description]").press("Alt+S")
    expect(page.locator("select[name=category]")).to_have_value("medical")
    expect(page.locator("select[name=urgency]")).to_have_value("urgent")
    page.screenshot(path=str(screenshot_dir / "hotline-desk.png"), full_page=True)
    page.click("#intake button[type=submit]")

    # Routed to the resident's community.
    page.wait_for_url(re.compile(r"/hotline/cases/RX[0-9A-F]{10}\?done=created"))
    code = page.locator("[data-testid=case-code]").inner_text()
    expect(page.locator("[data-testid=case-area]")).to_have_text("新星社区")
    expect(page.locator("[data-testid=case-category]")).to_contain_text("医疗")
    expect(page.locator("[data-testid=case-state] [data-state]")).to_have_attribute(
        "data-state", "assigned"
    )

    # The case spawns a delivery request for the medicine.
    page.select_option("select[name=kind]", "delivery")
    page.fill("input[name=details]", "硝苯地平缓释片 2盒")
    page.click("text=发起联动")
    expect(page.locator("[data-testid=linked-work] tr[data-work=delivery]")).to_contain_text(
        "已申请"
    )

    # She calls again: the desk offers her open case, and the call joins it.
    page.goto(server + "/hotline")
    page.locator("input[name=caller_phone]").press_sequentially("13985012233")
    attach = page.locator(f"#open-cases [data-attach='{code}']")
    expect(attach).to_be_visible()
    page.locator("input[name=caller_phone]").press("Escape")
    page.locator("textarea[name=description]").fill("药什么时候能送到")
    attach.click()
    page.wait_for_url(re.compile(rf"/hotline/cases/{code}\?done=attached"))
    expect(page.locator("[data-testid=attached]")).to_be_visible()
    expect(page.locator("[data-testid=case-calls]")).to_have_text("2")

    # Worked, resolved, confirmed by a call back, closed.
    page.click("[data-action=start]")
    page.click("[data-action=resolve]")
    expect(page.locator("[data-action=close]")).to_be_visible()
    page.click("[data-action=close]")
    expect(page.locator("[data-testid=problem]")).to_contain_text("回访确认")
    page.fill("textarea[name=text]", "回访:药已送到,老人已服药")
    page.click("[data-testid=confirm-callback]")
    page.click("[data-action=close]")
    expect(page.locator("[data-testid=case-state] [data-state]")).to_have_attribute(
        "data-state", "closed"
    )
    page.select_option("select[name=satisfaction]", "5")
    page.click("text=记录回访")
    expect(page.locator("[data-testid=follow-up]")).to_contain_text("5/5")
    kinds = page.locator("[data-testid=timeline] li").evaluate_all(
        "items => items.map(i => i.dataset.kind)"
    )
    assert kinds[:2] == ["opened", "state"] and "call" in kinds and "callback" in kinds
    assert kinds[-1] == "follow_up"
    page.screenshot(path=str(screenshot_dir / "hotline-case.png"), full_page=True)
    context.close()

    # The supervisor sees the street's figures.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server, "dudao", "/hotline/stats")
    expect(page.locator("[data-testid=received]")).to_have_text("1")
    expect(page.locator("[data-testid=resolved]")).to_have_text("1")
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "hotline-stats.png"), full_page=True)
    context.close()
