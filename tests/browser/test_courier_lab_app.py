"""The courier and lab-receipt screens of the field PWA, and the printable household cards.

Online (issue 4 "must show"): 25 swabs into three 10:1 tubes, a box sealed on the sampler's
pad, picked up by a courier with the site's PIN, taken over and signed off tube by tube at
the lab, and the server's counts match exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.browser.conftest import PASSWORD
from tests.browser.field_flows import (
    HANDHELD,
    PHONE,
    FieldRound,
    no_sideways_scroll,
    open_field_app,
    sample_and_seal,
    server_counts,
    stage_field_round,
    wait_for_drained_queue,
)
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.models import Lab, Round, Site
from tongxin.screening.setup import issue_device_token, set_site_pin

pytestmark = pytest.mark.browser

COURIER = "courier-1"


@dataclass(frozen=True)
class Carriers:
    """The courier's and the lab's tokens, and the site's handover PIN."""

    courier: str
    lab: str
    pin: str


def stage_carriers(db: Engine, fr: FieldRound) -> Carriers:
    """Give site S1 a handover PIN and issue a courier's and LAB1's device tokens."""
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(db)) as s:
        rnd = s.get(Round, fr.round_id)
        site = s.scalar(select(Site).where(Site.round_id == fr.round_id, Site.code == "S1"))
        lab = s.scalar(select(Lab).where(Lab.code == "LAB1"))
        pin = set_site_pin(s, site=site)
        courier, _ = issue_device_token(s, round=rnd, device=COURIER, now=now, courier=True)
        lab_token, _ = issue_device_token(s, round=rnd, device="lab-1", now=now, lab=lab)
        return Carriers(courier, lab_token, pin)


def sign_in_device(browser: Any, server: str, token: str, view: str, **viewport: Any) -> Any:
    """Open /field/ on a phone and sign in with a device token; wait for its first screen."""
    from playwright.sync_api import expect

    context = browser.new_context(**{**PHONE, "locale": "zh-CN", **viewport})
    page = context.new_page()
    page.goto(server + "/field/")
    page.fill("#token-input", token)
    page.click("#signin-form button[type=submit]")
    expect(page.locator(f"section[data-view={view}]")).to_be_visible()
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    return page


def pick_up(page: Any, site: str, boxes: list[str], pin: str | None = None) -> None:
    """Enter the site, scan the boxes and (when given) type the site's PIN and confirm."""
    from playwright.sync_api import expect

    page.fill("#pickup-site", site)
    page.press("#pickup-site", "Enter")
    for n, box in enumerate(boxes, start=1):
        page.fill("#pickup-scan", box)
        page.press("#pickup-scan", "Enter")
        expect(page.locator("[data-testid=pickup-count]")).to_have_text(str(n))
    if pin is not None:
        page.fill("#pickup-pin", pin)
        page.click("#pickup-confirm-form button[type=submit]")
        expect(page.locator("[data-testid=message]")).to_contain_text("已交接")


def take_over(page: Any, courier: str, boxes: list[str]) -> None:
    """Scan the courier's code and the boxes at the lab, and take them over."""
    from playwright.sync_api import expect

    page.fill("#lab-courier", courier)
    page.press("#lab-courier", "Enter")
    for n, box in enumerate(boxes, start=1):
        page.fill("#lab-scan", box)
        page.press("#lab-scan", "Enter")
        expect(page.locator("[data-testid=lab-count]")).to_have_text(str(n))
    page.click("#lab-handover")
    expect(page.locator("[data-testid=message]")).to_contain_text("请逐管验收")


def test_online_swabs_to_lab_receipt_match_the_server_counts_exactly(
    server: str, browser: Any, db: Engine, world: dict[str, str], screenshot_dir: Path, tmp_path
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    carriers = stage_carriers(db, fr)
    pad = open_field_app(browser, server, fr)
    tubes = sample_and_seal(pad, fr, box="B1", seal="S-0001")

    courier = sign_in_device(browser, server, carriers.courier, "pickup")
    pick_up(courier, "S1", ["B1"])
    courier.fill("#pickup-pin", carriers.pin)
    assert no_sideways_scroll(courier)
    courier.screenshot(path=str(screenshot_dir / "field-courier-pickup.png"), full_page=True)
    courier.click("#pickup-confirm-form button[type=submit]")
    expect(courier.locator("[data-testid=message]")).to_contain_text("已交接")
    wait_for_drained_queue(courier)
    courier.click("#tabs [data-go=deliver]")
    expect(courier.locator("[data-testid=carried]")).to_contain_text("B1 · S1 · 3 管")
    expect(courier.locator("[data-testid=courier-code]")).to_have_text(COURIER)
    expect(courier.locator("[data-testid=courier-badge]")).to_be_visible()
    assert no_sideways_scroll(courier)
    courier.screenshot(path=str(screenshot_dir / "field-courier-deliver.png"), full_page=True)

    lab = sign_in_device(browser, server, carriers.lab, "lab")
    take_over(lab, COURIER, ["B1"])
    card = lab.locator("article.fx-receipt[data-box=B1]")
    expect(card.locator(".fx-tube-row")).to_have_count(3)
    first = card.locator(f".fx-tube-row[data-tube='{tubes[0]}']")
    expect(first.locator("[data-condition=good]")).to_have_attribute("aria-pressed", "true")
    # A tap marks a tube; a second tap on 完好 puts it back (all three arrive intact).
    first.locator("[data-condition=damaged]").click()
    expect(first.locator("[data-condition=damaged]")).to_have_attribute("aria-pressed", "true")
    first.locator("[data-condition=good]").click()
    expect(first.locator("[data-condition=good]")).to_have_attribute("aria-pressed", "true")
    assert no_sideways_scroll(lab)
    lab.screenshot(path=str(screenshot_dir / "field-lab-receipt.png"), full_page=True)
    card.locator("button.fx-danger").click()
    expect(lab.locator("[data-testid=message]")).to_contain_text("已签收 B1：3 管完好")
    wait_for_drained_queue(lab)
    expect(lab.locator("[data-testid=expected-missing]")).to_contain_text("B1：3 管全部到齐")

    results = tmp_path / "结果.csv"
    results.write_text("管码,结果\n" + "".join(f"{t},阴性\n" for t in tubes), encoding="utf-8")
    lab.click("#tabs [data-go=results]")
    lab.set_input_files("#results-file", str(results))
    lab.click("#results-form button[type=submit]")
    expect(lab.locator("[data-testid=results-report]")).to_contain_text("3 条已采用")

    counts = server_counts(db, fr)
    assert {k: counts[k] for k in EXPECTED} == EXPECTED
    assert counts["tubes_resulted"] == 3


EXPECTED = {
    "people_sampled": 25,
    "tubes_closed": 3,
    "boxes_sealed": 1,
    "boxes_handed_over": 1,
    "boxes_received": 1,
    "tubes_received": 3,
    "rejected_events": 0,
}


def test_a_wrong_pin_is_refused_shown_with_a_hint_and_the_box_stays_at_the_site(
    server: str, browser: Any, db: Engine, world: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    fr = stage_field_round(db, world["community"])
    carriers = stage_carriers(db, fr)
    pad = open_field_app(browser, server, fr)
    sample_and_seal(pad, fr, box="B1", seal="S-0001")
    courier = sign_in_device(browser, server, carriers.courier, "pickup")
    wrong = "000000" if carriers.pin != "000000" else "111111"

    pick_up(courier, "S1", ["B1"], wrong)
    wait_for_drained_queue(courier)

    expect(courier.locator("[data-testid=rejected-count]")).to_have_text("1")
    courier.click("#tabs [data-go=rejected]")
    item = courier.locator("[data-testid=rejected-list] li").first
    expect(item).to_contain_text("交接")
    expect(item).to_contain_text("handover_pin_wrong")
    expect(item).to_contain_text("请采样点人员重新输入密码")
    counts = server_counts(db, fr)
    assert counts["boxes_handed_over"] == 0 and counts["rejected_events"] == 1


@pytest.mark.parametrize("viewport", [HANDHELD, PHONE], ids=["360", "390"])
def test_courier_and_lab_screens_fit_the_phone_without_sideways_scrolling(
    server: str, browser: Any, db: Engine, world: dict[str, str], viewport: dict[str, Any]
) -> None:
    fr = stage_field_round(db, world["community"])
    carriers = stage_carriers(db, fr)
    courier = sign_in_device(browser, server, carriers.courier, "pickup", **viewport)
    pick_up(courier, "S1", ["B-2022-0923-001", "B-2022-0923-002"])
    views = {}
    for view in ("pickup", "deliver", "rejected", "device"):
        courier.click(f"#tabs [data-go={view}]")
        views[f"courier-{view}"] = no_sideways_scroll(courier)
    lab = sign_in_device(browser, server, carriers.lab, "lab", **viewport)
    for view in ("lab", "results", "rejected", "device"):
        lab.click(f"#tabs [data-go={view}]")
        views[f"lab-{view}"] = no_sideways_scroll(lab)

    assert all(views.values()), views
    # A courier sees no sampler tab, a lab no courier tab.
    assert courier.locator("#tabs [data-go=sampler]").is_hidden()
    assert lab.locator("#tabs [data-go=pickup]").is_hidden()


def test_a_community_worker_prints_a_buildings_household_cards(
    server: str, browser: Any, world: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(**{**PHONE, "locale": "zh-CN"})
    page = context.new_page()
    page.goto(server + "/login")
    page.fill("input[name=username]", "xinxing")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")
    building = world["unit"].rsplit("-", 1)[0]

    page.goto(f"{server}/areas/{building}")
    page.click(f"a[href='/areas/{building}/cards']")

    expect(page.locator("article.household-card")).to_have_count(20)
    expect(page.locator("article.household-card").first).to_contain_text("张**")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "household-cards-phone.png"), full_page=False)
    pdf_like = page.evaluate("getComputedStyle(document.querySelector('.card-page')).breakAfter")
    assert pdf_like == "page"
