"""In a real browser: no page breaks its Content-Security-Policy, and page forms post with
their CSRF token (an administrator disables and enables a user)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_pages_load_without_csp_violations_and_user_actions_post_with_the_token(
    server: str, browser: Any, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(server + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")
    for path in ("/", f"/residents?area={world['community']}", "/registry/import", "/rounds"):
        page.goto(server + path)

    page.goto(server + "/admin/users")
    row = page.locator("#user-xinxing")
    row.locator("button[type=submit]").click()
    expect(page.locator("#user-xinxing")).to_have_attribute("data-active", "no")
    page.locator("#user-xinxing button[type=submit]").click()
    expect(page.locator("#user-xinxing")).to_have_attribute("data-active", "yes")

    assert violations == []
    context.close()
