"""The field PWA in headless Chromium: offline sampling, rejections, boxes, phone layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.browser.field_flows import (
    HANDHELD,
    PHONE,
    close_short,
    event_total,
    no_sideways_scroll,
    open_field_app,
    pack_and_seal,
    sample_25,
    sample_and_seal,
    scan,
    seal_box,
    server_counts,
    stage_field_round,
    swab,
    wait_for_drained_queue,
)

pytestmark = pytest.mark.browser


def test_online_sampler_part_matches_the_server_counts(
    server: str, browser: Any, db: Engine, world: dict[str, str], screenshot_dir: Path
) -> None:
    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)

    sample_and_seal(page, fr)

    counts = server_counts(db, fr)
    assert counts["people_sampled"] == 25
    assert counts["tube_members"] == 25
    assert counts["tubes_closed"] == 3
    assert counts["boxes_sealed"] == 1
    assert counts["tubes_in_sealed_boxes"] == 3
    assert counts["rejected_events"] == 0


def test_reload_while_offline_loses_no_swab_and_each_arrives_once(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    page.context.set_offline(True)
    expect(page.locator("[data-testid=net]")).to_contain_text("离线")

    sample_25(page, fr)
    # 25 swabs and one short close wait on the device; nothing reached the server.
    expect(page.locator("[data-testid=pending]")).to_have_text("26")
    assert server_counts(db, fr)["tube_members"] == 0

    # An 11th swab into the full first tube is refused at the table and never queued.
    scan(page, fr.walk_ins[9])
    scan(page, fr.tubes10[0])
    expect(page.locator("[data-testid=message]")).to_contain_text("已满")
    expect(page.locator("[data-testid=pending]")).to_have_text("26")

    page.reload()
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    expect(page.locator("[data-testid=net]")).to_contain_text("离线")
    expect(page.locator("[data-testid=pending]")).to_have_text("26")
    expect(page.locator("[data-testid=tube]")).to_have_text(fr.tubes10[2])
    expect(page.locator("[data-testid=fill]")).to_have_text("5/10")

    page.context.set_offline(False)
    wait_for_drained_queue(page)
    expect(page.locator("[data-testid=sent]")).to_have_text("26")
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("0")

    counts = server_counts(db, fr)
    assert counts["people_sampled"] == 25
    assert counts["tube_members"] == 25
    assert counts["tubes_closed"] == 3
    assert counts["rejected_events"] == 0
    assert event_total(db, fr) == 26


def test_a_rejected_swab_shows_its_reason_and_stays_listed_after_reload(
    server: str, browser: Any, db: Engine, world: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    swab(page, fr.residents[0], fr.tubes10[0], "1/10")
    # Someone from 尖山社区 (20:1) is not on this site's list: only the server knows their
    # pooling, and it refuses them in a 10:1 tube.
    scan(page, fr.outsider)
    expect(page.locator("[data-testid=message]")).to_contain_text("不在本采样点名单")
    scan(page, fr.tubes10[0])
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("1")
    expect(page.locator("[data-testid=message]")).to_contain_text("服务器拒收 1 条")
    expect(page.locator("[data-testid=message]")).to_contain_text("10 混 1")
    wait_for_drained_queue(page)

    page.click("#tabs [data-go=rejected]")
    item = page.locator("[data-testid=rejected-list] li.fx-rejected-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("tube_capacity_mismatch")
    expect(item).to_contain_text(fr.outsider)
    expect(item.locator(".fx-hint")).to_contain_text("换管重采")
    page.screenshot(path=str(screenshot_dir / "field-rejected.png"), full_page=True)

    page.reload()
    page.click("#tabs [data-go=rejected]")
    expect(item).to_have_count(1)
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("1")
    assert server_counts(db, fr)["rejected_events"] == 1

    item.locator("button").click()
    expect(item).to_have_count(0)
    expect(page.locator("[data-testid=rejected-list]")).to_contain_text("没有被拒的数据")
    page.reload()
    page.click("#tabs [data-go=rejected]")
    expect(item).to_have_count(0)


def test_screens_at_phone_size_in_chinese(
    server: str, browser: Any, db: Engine, world: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    context = browser.new_context(**PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(server + "/field/")
    expect(page.locator("section[data-view=signin] h1")).to_have_text("设备登录")
    page.screenshot(path=str(screenshot_dir / "field-signin.png"), full_page=True)
    context.close()

    page = open_field_app(browser, server, fr)
    for i, person in enumerate(fr.residents[:7]):
        swab(page, person, fr.tubes10[0], f"{i + 1}/10")
    scan(page, fr.residents[7])
    expect(page.locator("[data-testid=person]")).to_have_text(re.compile(r"^\S\*+$"))
    expect(page.locator("[data-testid=person-rule]")).to_have_text("10混1")
    expect(page.locator("[data-testid=names] li")).to_have_count(7)
    page.screenshot(path=str(screenshot_dir / "field-sampler.png"), full_page=True)
    assert no_sideways_scroll(page)

    scan(page, fr.tubes10[0])
    expect(page.locator("[data-testid=fill]")).to_have_text("8/10")
    close_short(page)
    pack_and_seal(page, [fr.tubes10[0]], "B7", "S-0007")
    page.screenshot(path=str(screenshot_dir / "field-box.png"), full_page=True)
    assert no_sideways_scroll(page)
    seal_box(page)
    wait_for_drained_queue(page)
    assert server_counts(db, fr)["boxes_sealed"] == 1


@pytest.mark.parametrize("size", [PHONE, HANDHELD], ids=["390px", "360px"])
def test_no_screen_scrolls_sideways(
    server: str, browser: Any, db: Engine, world: dict[str, str], size: dict[str, Any]
) -> None:
    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr, **size)
    swab(page, fr.residents[0], fr.tubes10[0], "1/10")
    for tab in ("sampler", "box", "rejected", "device"):
        page.click(f"#tabs [data-go={tab}]")
        assert no_sideways_scroll(page), tab
    page.click("#tabs [data-go=sampler]")
    page.click("#walk-in-open")
    assert no_sideways_scroll(page)
