"""Donor to door in a real browser: intake, 100 packages, 100 households of the demo district,
5 cars, drivers confirm.

The households are the demo generator's own (elderly people living alone, bedridden
residents), not ones added for the test: the district has more in need than there are
packages, so the officer looks up the count and serves the 100 most in need. Stock, the trip
log and the donor report must then agree to the kilogram.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.browser.conftest import PASSWORD
from tests.factories.supplies import DAY
from tests.web.conftest import add_user
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.demo.names import DISTRICT_CODE
from tongxin.demo.service import build_district
from tongxin.logistics import service as fleet
from tongxin.registry.models import Area
from tongxin.settings import Settings
from tongxin.supplies import allocation, service

pytestmark = pytest.mark.browser
DRIVERS = 5
PACKAGES = 100
# Small enough to build in about a second, large enough that the district has more
# households in need than the 100 packages (154 with this seed).
RESIDENTS = 3000
SEED = 20220923


@pytest.fixture
def fast_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the server a short optimiser time limit (100 stops: 0.4 s)."""
    monkeypatch.setenv("TONGXIN_ROUTE_TIME_LIMIT_S", "1")


@pytest.fixture
def world(db: Engine) -> dict[str, str]:
    """The generated demo district instead of the small named tree (the server needs one)."""
    build_district(db, residents=RESIDENTS, seed=SEED)
    return {"district": DISTRICT_CODE}


@pytest.fixture
def supplies_world(db: Engine, world: dict[str, str], settings: Settings) -> int:
    """A supplies officer for the district, items, a depot, and 5 cars of 130 kg: 600 kg of
    packages need all five. Returns how many households the district has in need."""
    from argon2 import PasswordHasher

    hashed = PasswordHasher().hash(PASSWORD)
    with session_scope(make_sessionmaker(db)) as s:
        district = s.scalars(select(Area).where(Area.code == world["district"])).one()
        in_need = allocation.needy_households(
            s, area=district, today=DAY, elderly_age=settings.elderly_age
        )
        # The demo's groups give the district more households in need than there are
        # packages: the test is about choosing among them.
        assert len(in_need) > PACKAGES
        add_user(
            s,
            hashed,
            "wuzi",
            Role.SUPPLIES_OFFICER,
            display_name="物资专员 李",
            jurisdiction_id=district.id,
        )
        depot = service.add_warehouse(
            s, code="CK1", name="白云区物资中转站", kind="depot", latitude=26.675, longitude=106.635
        )
        service.add_item(s, code="VEG", name="蔬菜", unit="kg", perishable=True)
        service.add_item(s, code="RICE", name="大米", unit="kg", perishable=True)
        service.define_package(
            s, code="PKG-VEG", name="蔬菜包", components=[("VEG", "5"), ("RICE", "1")]
        )
        for i in range(DRIVERS):
            username = f"driver{i + 1}"
            add_user(s, hashed, username, Role.VOLUNTEER, display_name=f"志愿司机{i + 1}")
            uid = s.scalar(select(User.id).where(User.username == username))
            driver = fleet.add_driver(s, name=f"志愿司机{i + 1}", user_id=uid)
            fleet.add_vehicle(
                s,
                plate=f"贵A5{i:04d}",
                driver=driver,
                depot=depot,
                capacity_kg=130,
                available_from=time(8),
                available_to=time(20),
            )
        return len(in_need)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base) + r"/"))


def test_donation_to_doorstep_agrees_to_the_kilogram(
    fast_routes: None, supplies_world: int, server: str, browser: Any, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _sign_in(page, server, "wuzi")

    # Intake: 0.55 t of vegetables (stocked as 550 kg) and 120 kg of rice.
    page.goto(server + "/supplies/donations")
    page.fill("input[name=donor]", "贵州绿源农业有限公司")
    page.select_option("select[name=item_1]", "VEG")
    page.fill("input[name=quantity_1]", "0.55")
    page.select_option("select[name=unit_1]", "t")
    page.fill("input[name=expires_1]", "2099-10-01")
    page.select_option("select[name=item_2]", "RICE")
    page.fill("input[name=quantity_2]", "120")
    page.select_option("select[name=unit_2]", "kg")
    page.fill("input[name=expires_2]", "2099-12-31")
    page.click("form[data-testid=donation-form] button[type=submit]")
    expect(page.locator("[data-testid=receipt] svg")).to_be_visible()
    expect(page.locator("[data-testid=receipt]")).to_contain_text("550")
    page.screenshot(path=str(screenshot_dir / "supplies-receipt.png"), full_page=True)

    # Assemble 100 vegetable packages.
    page.goto(server + "/supplies/packages")
    page.fill("input[name=count]", "100")
    page.click("form[data-testid=assemble-form] button[type=submit]")
    expect(page.locator("[data-testid=package-stock]")).to_have_text("100")

    # The district has more households in need than packages: the officer looks the count
    # up, then allocates to the 100 most in need (bedridden first, then the oldest).
    page.goto(server + "/supplies/allocations")
    page.select_option("form[data-testid=need-form] select[name=area]", DISTRICT_CODE)
    page.click("form[data-testid=need-form] button[type=submit]")
    expect(page.locator("[data-testid=need]")).to_be_visible()
    assert int(page.locator("[data-testid=need]").get_attribute("data-total") or 0) > PACKAGES
    form = page.locator("form[data-testid=allocation-form]")
    expect(form.locator("select[name=area]")).to_have_value(DISTRICT_CODE)
    form.locator("input[name=limit]").fill(str(PACKAGES))
    form.locator("select[name=item]").select_option("PKG-VEG")
    form.locator("input[name=delivery_date]").fill(DAY.isoformat())
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=orders] tbody tr")).to_have_count(PACKAGES)
    pins = {
        row.get_attribute("data-order"): row.locator("[data-pin]").get_attribute("data-pin")
        for row in page.locator("[data-testid=orders] tbody tr").all()
    }

    # Route them onto the five volunteer cars.
    page.goto(f"{server}/logistics/dispatch?day={DAY}")
    page.click("form[data-testid=plan-form] button[type=submit]")
    expect(page.locator("[data-testid=trips] tbody tr")).to_have_count(DRIVERS)
    expect(page.locator("svg.route-map polyline")).to_have_count(DRIVERS)
    page.screenshot(path=str(screenshot_dir / "dispatch-board.png"), full_page=True)

    # Each driver opens their trip on a phone and confirms every stop with the PIN; the
    # first stop of the first driver signs on the screen instead.
    signed = False
    for d in range(DRIVERS):
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        mobile = phone.new_page()
        _sign_in(mobile, server, f"driver{d + 1}")
        mobile.goto(server + "/logistics/driver")
        mobile.locator("[data-testid=driver-trips] a").first.click()
        trip_url = mobile.url
        for order in [s.get_attribute("data-order") for s in mobile.locator("li.stop").all()]:
            form = mobile.locator(f"[data-testid=confirm-{order}]")
            if not signed:
                form.locator("summary").click()
                pad = form.locator("canvas").bounding_box()
                mobile.mouse.move(pad["x"] + 20, pad["y"] + 60)
                mobile.mouse.down()
                mobile.mouse.move(pad["x"] + 120, pad["y"] + 30, steps=5)
                mobile.mouse.move(pad["x"] + 220, pad["y"] + 90, steps=5)
                mobile.mouse.up()
                signed = True
            else:
                form.locator("input[name=pin]").fill(pins[order])
            form.locator("button[type=submit]").click()
            mobile.wait_for_url(re.compile(re.escape(trip_url)))
            expect(mobile.locator(f"li.stop[data-order='{order}']")).to_have_attribute(
                "data-status", "delivered"
            )
        if d == 0:
            mobile.screenshot(path=str(screenshot_dir / "driver-trip-phone.png"), full_page=True)
        phone.close()

    # Stock, the trip log and the donor report agree to the kilogram.
    page.goto(f"{server}/logistics/dispatch?day={DAY}")
    kilos = [
        float(k)
        for k in page.locator("[data-testid=trip-log] [data-kg]").evaluate_all(
            "els => els.map(e => e.dataset.kg)"
        )
    ]
    assert sum(kilos) == 600.0
    page.goto(server + "/supplies/stock")
    expect(page.locator("tr[data-item=VEG] [data-free]")).to_have_attribute("data-free", "50")
    expect(page.locator("tr[data-item=RICE] [data-free]")).to_have_attribute("data-free", "20")
    expect(page.locator("tr[data-item=PKG-VEG]")).to_have_count(0)
    page.goto(server + "/supplies/donations")
    page.locator("[data-testid=recent-donations] a[href^='/supplies/donors/']").first.click()
    expect(page.locator("[data-testid=donor-delivered-kg]")).to_have_text("600")
    expect(page.locator("tr[data-item=VEG] [data-delivered]")).to_have_attribute(
        "data-delivered", "500"
    )
    expect(page.locator("tr[data-item=RICE] [data-delivered]")).to_have_attribute(
        "data-delivered", "100"
    )
    page.screenshot(path=str(screenshot_dir / "donor-report.png"), full_page=True)
    desk.close()
