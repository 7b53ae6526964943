"""The field PWA in headless Chromium: offline sampling, rejections, boxes, phone layout."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.browser.field_flows import (
    HANDHELD,
    PHONE,
    close_short,
    event_ids_in_seq_order,
    event_total,
    issue_more_tubes,
    no_sideways_scroll,
    open_field_app,
    pack_and_seal,
    replace_token,
    resolve_rejected,
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


def test_the_device_makes_time_ordered_event_ids(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)

    sample_and_seal(page, fr)

    ids = [uuid.UUID(i) for i in event_ids_in_seq_order(db, fr)]
    assert len(ids) > 25
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    # The first 48 bits are the device's milliseconds: they never fall as seq rises.
    stamps = [i.int >> 80 for i in ids]
    assert stamps == sorted(stamps)


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


def test_a_server_error_keeps_the_events_and_the_retry_sends_each_once(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    calls = {"failed": 0, "passed": 0}

    def flaky(route: Any) -> None:
        # The first two sends meet a server that stored nothing (503); later ones go through.
        if calls["failed"] < 2:
            calls["failed"] += 1
            route.fulfill(status=503, json={"detail": "events not stored; send them again"})
        else:
            calls["passed"] += 1
            route.continue_()

    page.route("**/api/v1/capture/events", flaky)
    for i, person in enumerate(fr.residents[:3]):
        swab(page, person, fr.tubes10[0], f"{i + 1}/10")
    wait_for_drained_queue(page)

    assert calls["failed"] == 2 and calls["passed"] >= 1
    expect(page.locator("[data-testid=sent]")).to_have_text("3")
    assert server_counts(db, fr)["tube_members"] == 3
    assert event_total(db, fr) == 3


def test_a_refused_token_stops_sending_and_a_new_token_sends_what_waited(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    swab(page, fr.residents[0], fr.tubes10[0], "1/10")
    wait_for_drained_queue(page)
    fresh = replace_token(db, fr)

    swab(page, fr.residents[1], fr.tubes10[0], "2/10")
    expect(page.locator("[data-testid=token-banner]")).to_contain_text("设备令牌无效或已过期")
    # Sampling goes on; the swabs wait on the device.
    swab(page, fr.residents[2], fr.tubes10[0], "3/10")
    expect(page.locator("[data-testid=pending]")).to_have_text("2")
    assert server_counts(db, fr)["tube_members"] == 1

    page.click("#tabs [data-go=device]")
    page.click("#sign-out")
    page.fill("#token-input", fresh)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    wait_for_drained_queue(page)
    expect(page.locator("[data-testid=token-banner]")).to_be_hidden()
    assert server_counts(db, fr)["tube_members"] == 3


def test_a_rejected_swab_shows_its_reason_and_stays_listed_until_dealt_with(
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
    items = page.locator("[data-testid=rejected-list] li.fx-rejected-item")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("tube_capacity_mismatch")
    expect(items).to_contain_text(fr.outsider)
    expect(items.locator(".fx-hint")).to_contain_text("换管重采")
    page.screenshot(path=str(screenshot_dir / "field-rejected.png"), full_page=True)

    page.reload()
    page.click("#tabs [data-go=rejected]")
    expect(items).to_have_count(1)
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("1")
    assert server_counts(db, fr)["rejected_events"] == 1

    # The sampler marks it dealt with: it leaves the list on the device (and stays so after
    # a reload); the server keeps it until the command centre resolves it.
    items.locator("button").click()
    expect(items).to_have_count(0)
    expect(page.locator("[data-testid=rejected-list]")).to_contain_text("没有被拒的数据")
    page.reload()
    page.click("#tabs [data-go=rejected]")
    expect(page.locator("[data-testid=rejected-list]")).to_contain_text("没有被拒的数据")
    assert server_counts(db, fr)["rejected_events"] == 1

    # A second one is resolved at the command centre instead: the device sees that.
    page.click("#tabs [data-go=sampler]")
    scan(page, fr.outsider)
    scan(page, fr.tubes10[0])
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("1")
    resolve_rejected(db, fr)
    page.reload()
    expect(page.locator("[data-testid=sent]")).to_have_text("1")
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("0")
    page.click("#tabs [data-go=rejected]")
    expect(page.locator("[data-testid=rejected-list]")).to_contain_text("没有被拒的数据")


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


def test_the_camera_button_shows_only_where_the_browser_reads_barcodes(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    camera = page.locator("#camera")
    if page.evaluate("'BarcodeDetector' in window"):
        expect(camera).to_be_visible()
    else:
        expect(camera).to_be_hidden()
    page.context.close()

    # A browser that has BarcodeDetector (as Chrome on Android does) gets the button.
    page = open_field_app(browser, server, fr)
    page.context.add_init_script(
        "window.BarcodeDetector = class { async detect() { return []; } };"
    )
    page.reload()
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    expect(page.locator("#camera")).to_be_visible()


def test_success_and_refusal_vibrate_differently(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    page.context.add_init_script(
        "window.__buzzes = [];navigator.vibrate = (p) => { window.__buzzes.push(p); return true; };"
    )
    page.reload()
    expect(page.locator("section[data-view=sampler]")).to_be_visible()

    swab(page, fr.residents[0], fr.tubes10[0], "1/10")
    scan(page, "NOT-A-CODE")
    expect(page.locator("[data-testid=message]")).to_contain_text("无法识别")

    assert page.evaluate("window.__buzzes") == [60, 60, [180, 90, 180]]


def test_a_token_link_signs_in_and_leaves_no_token_in_the_address_bar(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = browser.new_context(**PHONE, locale="zh-CN").new_page()
    page.goto(f"{server}/field/#token={fr.token}")
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    expect(page.locator("[data-testid=where]")).to_contain_text("新星社区广场")
    assert fr.token not in page.url
    assert page.evaluate("window.location.hash") == ""


def test_closing_the_page_mid_queue_loses_nothing(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    context = page.context
    context.set_offline(True)
    for i, person in enumerate(fr.residents[:3]):
        swab(page, person, fr.tubes10[0], f"{i + 1}/10")
    expect(page.locator("[data-testid=pending]")).to_have_text("3")
    page.close()

    # The app opens again from its home-screen icon, still offline.
    page = context.new_page()
    page.goto(server + "/field/")
    expect(page.locator("section[data-view=sampler]")).to_be_visible()
    expect(page.locator("[data-testid=pending]")).to_have_text("3")
    context.set_offline(False)
    wait_for_drained_queue(page)
    assert server_counts(db, fr)["tube_members"] == 3
    assert event_total(db, fr) == 3


def test_a_batch_issued_after_sign_in_is_known_online_and_refused_offline(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)
    late = issue_more_tubes(db, fr, 2)

    # Online, the device asks the server about a barcode it does not know before refusing.
    swab(page, fr.residents[0], late[0], "1/10")
    wait_for_drained_queue(page)

    # Offline it cannot ask: a barcode in no batch it knows is refused at the table.
    page.context.set_offline(True)
    stranger = issue_more_tubes(db, fr, 1)[0]
    scan(page, fr.residents[1])
    scan(page, stranger)
    expect(page.locator("[data-testid=message]")).to_contain_text("不是本轮发放的采样管")
    expect(page.locator("[data-testid=pending]")).to_have_text("0")
    assert server_counts(db, fr)["tube_members"] == 1
