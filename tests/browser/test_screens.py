"""Sign in with a real browser, walk the main pages, and keep screenshots of them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_sign_in_walk_the_registry_and_take_screenshots(
    server: str, browser: Any, world: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()

    page.goto(server + "/")
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator("h1")).to_have_text("登录同心")
    page.screenshot(path=str(screenshot_dir / "login.png"), full_page=True)

    _sign_in(page, server, "admin")
    expect(page.locator("h1")).to_have_text("白云区")
    expect(page.locator(".stat-value")).to_have_text("20")
    expect(page.locator("table.tree-table")).to_contain_text("泉湖街道")
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)

    page.goto(f"{server}/residents?area={world['community']}")
    expect(page.locator("[data-testid=total]")).to_have_text("20")
    expect(page.locator("table.residents-table tbody tr")).to_have_count(20)
    page.screenshot(path=str(screenshot_dir / "residents.png"), full_page=True)

    page.fill("input[name=phone]", "2345")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"phone=2345"))
    expect(page.locator("table.residents-table tbody tr")).to_have_count(1)
    expect(page.locator("table.residents-table")).to_contain_text("王磊")

    page.click("text=王磊")
    page.wait_for_url(re.compile(r"/residents/[0-9A-Z]{8}"))
    expect(page.locator("h1")).to_contain_text("王磊")
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.locator(".address")).to_contain_text("尖山小区")
    page.screenshot(path=str(screenshot_dir / "resident.png"), full_page=True)
    context.close()


def test_a_community_worker_on_a_phone_sees_the_list_as_cards(
    server: str, browser: Any, world: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    _sign_in(page, server, "xinxing")
    expect(page.locator("h1")).to_have_text("新星社区")

    page.goto(server + "/residents")
    first = page.locator("table.residents-table tbody tr").first
    expect(first).to_be_visible()
    # On a phone each resident is a card: no header row, and no sideways scrolling.
    expect(page.locator("table.residents-table thead")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshot_dir / "residents-phone.png"), full_page=False)
    context.close()


def test_switching_to_english_in_the_browser(
    server: str, browser: Any, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "admin")

    page.click("text=English")

    expect(page.locator("nav.nav")).to_contain_text("Residents")
    expect(page.locator("button", has_text="Sign out")).to_be_visible()
    context.close()
