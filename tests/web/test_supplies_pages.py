"""Supplies and logistics pages through the app: desk, packages, allocation, dispatch, driver."""

from __future__ import annotations

import io
from datetime import date, time

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories.registry import build_tree
from tests.factories.supplies import DAY, add_needy_households
from tests.web.conftest import add_user, post_form, sign_in
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.logistics import service as fleet
from tongxin.supplies import service
from tongxin.supplies.models import DeliveryOrder
from tongxin.web.app import create_app


@pytest.fixture
def officer_world(db, password_hash):
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_needy_households(s, tree.community, 12)
        add_user(
            s, password_hash, "supplies", Role.SUPPLIES_OFFICER, jurisdiction_id=tree.district.id
        )
        add_user(s, password_hash, "driver1", Role.VOLUNTEER)
        add_user(s, password_hash, "driver2", Role.VOLUNTEER)
        depot = service.add_warehouse(
            s, code="CK1", name="中转站", kind="depot", latitude=26.675, longitude=106.635
        )
        service.add_item(s, code="VEG", name="蔬菜", unit="kg", perishable=True)
        service.add_item(s, code="RICE", name="大米", unit="kg", perishable=True)
        service.define_package(
            s, code="PKG", name="蔬菜包", components=[("VEG", "5"), ("RICE", "1")]
        )
        for i, username in enumerate(("driver1", "driver2")):
            uid = s.scalar(select(User.id).where(User.username == username))
            d = fleet.add_driver(s, name=f"司机{i + 1}", user_id=uid)
            fleet.add_vehicle(
                s,
                plate=f"贵A0000{i}",
                driver=d,
                depot=depot,
                capacity_kg=60,
                available_from=time(8),
                available_to=time(20),
            )
        return tree


@pytest.fixture
def app(settings, db):
    return create_app(settings.model_copy(update={"route_time_limit_s": 0.5}), engine=db)


def _client(app, username):
    c = TestClient(app)
    sign_in(c, username)
    return c


def _desk(client, lines, donor="贵州蔬菜公司"):
    data = {"donor": donor, "donor_kind": "enterprise", "warehouse": "CK1"}
    for i, (item, q, unit, expiry) in enumerate(lines, 1):
        data |= {f"item_{i}": item, f"quantity_{i}": q, f"unit_{i}": unit, f"expires_{i}": expiry}
    return post_form(
        client, "/supplies/donations", data, page="/supplies/donations", follow_redirects=False
    )


def test_a_donation_with_an_unknown_unit_is_refused_on_the_desk_and_nothing_is_stocked(
    app, officer_world
):
    with TestClient(app):
        officer = _client(app, "supplies")
        answer = _desk(
            officer, [("VEG", "100", "kg", "2099-10-01"), ("RICE", "5", "斤", "2099-01-01")]
        )
        assert answer.status_code == 422
        assert 'data-code="unknown_unit"' in answer.text
        assert "line 2.unit" in answer.text
        answer = _desk(officer, [("VEG", "-3", "kg", "2099-10-01")])
        assert 'data-code="negative_quantity"' in answer.text
        assert "暂无库存" in officer.get("/supplies/stock").text


def test_desk_to_door_through_the_pages_agrees_to_the_kilogram(app, officer_world, db):
    with TestClient(app):
        officer = _client(app, "supplies")
        answer = _desk(
            officer, [("VEG", "0.1", "t", "2099-10-01"), ("RICE", "20", "kg", "2099-01-01")]
        )
        assert answer.status_code == 303
        receipt = officer.get(answer.headers["location"])
        assert "<svg" in receipt.text and "JZ" in receipt.text

        too_many = post_form(
            officer,
            "/supplies/packages/assemble",
            {"package": "PKG", "count": "21", "warehouse": "CK1"},
            page="/supplies/packages",
        )
        assert too_many.status_code == 422 and 'data-code="insufficient_stock"' in too_many.text
        done = post_form(
            officer,
            "/supplies/packages/assemble",
            {"package": "PKG", "count": "12", "warehouse": "CK1"},
            page="/supplies/packages",
        )
        assert done.status_code == 200 and 'data-testid="assembled"' in done.text

        made = post_form(
            officer,
            "/supplies/allocations",
            {
                "area": officer_world.community.code,
                "item": "PKG",
                "warehouse": "CK1",
                "delivery_date": DAY.isoformat(),
                "window_from": "09:00",
                "window_to": "18:00",
                "urgency": "normal",
                "total": "",
            },
            page="/supplies/allocations",
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text[:400]
        orders_xlsx = officer.get(made.headers["location"] + "/orders.xlsx")
        sheet = load_workbook(io.BytesIO(orders_xlsx.content)).active
        assert sheet.max_row == 13

        planned = post_form(
            officer,
            "/logistics/dispatch/plan",
            {"day": DAY.isoformat()},
            page=f"/logistics/dispatch?day={DAY}",
        )
        assert planned.status_code == 200 and 'data-testid="map"' in planned.text
        assert "<polyline" in planned.text

        with session_scope(make_sessionmaker(db)) as s:
            pins = {o.id: o.pin for o in s.scalars(select(DeliveryOrder))}
        for username in ("driver1", "driver2"):
            driver = _client(app, username)
            home = driver.get("/logistics/driver").text
            for trip_id in {
                int(x.split('"')[0]) for x in home.split("/logistics/driver/trips/")[1:]
            }:
                page = driver.get(f"/logistics/driver/trips/{trip_id}").text
                for order_id in {int(x.split('"')[0]) for x in page.split('data-order="')[1:]}:
                    post_form(
                        driver,
                        f"/logistics/driver/trips/{trip_id}/confirm",
                        {"order": str(order_id), "pin": pins[order_id]},
                        page=f"/logistics/driver/trips/{trip_id}",
                    )
        board = officer.get(f"/logistics/dispatch?day={DAY}").text
        kg = sum(float(x.split('"')[0]) for x in board.split('data-kg="')[1:])
        assert kg == 72.0
        stock = officer.get("/supplies/stock").text
        assert (
            'data-free="40"' in stock and 'data-free="8"' in stock
        )  # 100-60 kg veg, 20-12 kg rice
        donor = officer.get("/supplies/donors/1").text
        assert 'data-testid="donor-delivered-kg">72<' in donor


def test_a_driver_cannot_open_or_confirm_another_drivers_trip(app, officer_world):
    with TestClient(app):
        stranger = _client(app, "driver2")
        assert stranger.get("/logistics/driver/trips/999").status_code == 404
        assert stranger.get("/supplies/stock").status_code == 403


def test_a_wrong_pin_on_the_phone_is_refused_and_the_stop_stays_open(
    app, officer_world, db, settings
):
    with session_scope(make_sessionmaker(db)) as s:
        from tests.factories.supplies import AT
        from tongxin.supplies import allocation

        ids = allocation.needy_households(
            s, area=officer_world.community, today=DAY, elderly_age=60
        )
        service.receive_donation(
            s,
            donor=service.add_donor(s, name="个人", kind="individual"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            lines=[
                service.IntakeLine("VEG", "10", "kg", DAY),
                service.IntakeLine("RICE", "2", "kg", DAY),
            ],
            at=AT,
            by="t",
            settings=settings,
        )
        service.assemble(
            s,
            package=service.item_by_code(s, "PKG"),
            packages=1,
            warehouse=service.warehouse_by_code(s, "CK1"),
            at=AT,
            by="t",
        )
        allocation.allocate_to_households(
            s,
            household_ids=[ids[0].household_id],
            item=service.item_by_code(s, "PKG"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            total=1,
            delivery_date=DAY,
            at=AT,
            by="t",
            name="x",
        )
        fleet.plan_day(s, day=DAY, settings=settings.model_copy(update={"route_time_limit_s": 0.5}))
        order = s.scalar(select(DeliveryOrder))
        trip_id = fleet.trips_on(s, DAY)[0].id
        driver_user = s.scalar(
            select(User.username)
            .join(fleet.Driver, fleet.Driver.user_id == User.id)
            .join(fleet.Trip, fleet.Trip.driver_id == fleet.Driver.id)
            .where(fleet.Trip.id == trip_id)
        )
        wrong = "0000" if order.pin != "0000" else "1111"
    with TestClient(app):
        driver = _client(app, driver_user)
        answer = post_form(
            driver,
            f"/logistics/driver/trips/{trip_id}/confirm",
            {"order": str(order.id), "pin": wrong},
            page=f"/logistics/driver/trips/{trip_id}",
        )
        assert answer.status_code == 422 and 'data-code="wrong_pin"' in answer.text
        assert f'data-order="{order.id}" data-status="planned"' in answer.text


def test_five_wrong_pins_lock_the_order_until_the_dispatcher_resets_it(
    app, officer_world, db, settings
):
    """The wrong tries are kept although each answer is a 422 (the limit counts them)."""
    from tongxin.supplies.rules import PIN_ATTEMPTS

    with session_scope(make_sessionmaker(db)) as s:
        from tests.factories.supplies import AT
        from tongxin.supplies import allocation

        ids = allocation.needy_households(
            s, area=officer_world.community, today=DAY, elderly_age=60
        )
        service.receive_donation(
            s,
            donor=service.add_donor(s, name="个人", kind="individual"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            lines=[
                service.IntakeLine("VEG", "10", "kg", date(2099, 1, 1)),
                service.IntakeLine("RICE", "2", "kg", date(2099, 1, 1)),
            ],
            at=AT,
            by="t",
            settings=settings,
        )
        service.assemble(
            s,
            package=service.item_by_code(s, "PKG"),
            packages=1,
            warehouse=service.warehouse_by_code(s, "CK1"),
            at=AT,
            by="t",
        )
        allocation.allocate_to_households(
            s,
            household_ids=[ids[0].household_id],
            item=service.item_by_code(s, "PKG"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            total=1,
            delivery_date=DAY,
            at=AT,
            by="t",
            name="x",
        )
        fleet.plan_day(s, day=DAY, settings=settings.model_copy(update={"route_time_limit_s": 0.5}))
        order = s.scalar(select(DeliveryOrder))
        trip = fleet.trips_on(s, DAY)[0]
        driver_user = s.scalar(
            select(User.username)
            .join(fleet.Driver, fleet.Driver.user_id == User.id)
            .where(fleet.Driver.id == trip.driver_id)
        )
        order_id, pin, allocation_id, trip_id = order.id, order.pin, order.allocation_id, trip.id
    wrong = "0000" if pin != "0000" else "1111"
    sheet = f"/logistics/driver/trips/{trip_id}"
    with TestClient(app):
        driver = _client(app, driver_user)
        officer = _client(app, "supplies")

        def confirm(typed: str):
            return post_form(
                driver,
                f"{sheet}/confirm",
                {"order": str(order_id), "pin": typed},
                page=sheet,
                follow_redirects=False,
            )

        for _ in range(PIN_ATTEMPTS):
            assert 'data-code="wrong_pin"' in confirm(wrong).text
        locked = confirm(pin)
        assert locked.status_code == 422 and 'data-code="pin_locked"' in locked.text
        # The phone then offers only the signature for that stop.
        phone = driver.get(sheet).text
        stop = phone.split(f'data-testid="confirm-{order_id}"')[1].split("</form>")[0]
        assert 'data-testid="pin-locked"' in stop and 'name="pin"' not in stop
        orders = officer.get(f"/supplies/allocations/{allocation_id}").text
        assert 'data-testid="pin-locked"' in orders

        reset = post_form(
            officer,
            f"/supplies/allocations/{allocation_id}/orders/{order_id}/pin-reset",
            page=f"/supplies/allocations/{allocation_id}",
            follow_redirects=False,
        )
        assert reset.status_code == 303
        assert 'data-testid="pin-locked"' not in officer.get(reset.headers["location"]).text
        assert confirm(pin).status_code == 303
    with session_scope(make_sessionmaker(db)) as s:
        assert s.get(DeliveryOrder, order_id).status == "delivered"


def test_the_officer_sees_an_areas_count_in_need_and_serves_only_the_most_in_need(
    app, officer_world, db, settings
):
    from tests.factories.supplies import AT
    from tongxin.supplies import allocation

    with session_scope(make_sessionmaker(db)) as s:
        service.receive_donation(
            s,
            donor=service.add_donor(s, name="个人", kind="individual"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            lines=[
                service.IntakeLine("VEG", "15", "kg", date(2099, 1, 1)),
                service.IntakeLine("RICE", "3", "kg", date(2099, 1, 1)),
            ],
            at=AT,
            by="t",
            settings=settings,
        )
        service.assemble(
            s,
            package=service.item_by_code(s, "PKG"),
            packages=3,
            warehouse=service.warehouse_by_code(s, "CK1"),
            at=AT,
            by="t",
        )
        needy = allocation.needy_households(
            s, area=officer_world.community, today=DAY, elderly_age=60
        )
        bedridden = {n.household_id for n in needy if n.reason == "bedridden"}
        first_alone = min(n.household_id for n in needy if n.reason == "elderly_alone")
    with TestClient(app):
        officer = _client(app, "supplies")
        preview = officer.get(
            "/supplies/allocations", params={"area": officer_world.community.code}
        )
        assert 'data-testid="need" data-total="12"' in preview.text
        assert officer.get("/supplies/allocations", params={"area": "nowhere"}).status_code == 404

        form = {
            "area": officer_world.community.code,
            "item": "PKG",
            "warehouse": "CK1",
            "delivery_date": DAY.isoformat(),
        }
        bad = post_form(
            officer, "/supplies/allocations", form | {"limit": "三"}, page="/supplies/allocations"
        )
        assert bad.status_code == 422 and 'data-code="bad_quantity"' in bad.text
        made = post_form(
            officer,
            "/supplies/allocations",
            form | {"limit": "3"},
            page="/supplies/allocations",
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text[:400]
    with session_scope(make_sessionmaker(db)) as s:
        from tongxin.supplies.models import Recipient

        served = set(
            s.scalars(
                select(Recipient.household_id).join(
                    DeliveryOrder, DeliveryOrder.recipient_id == Recipient.id
                )
            )
        )
    assert len(bedridden) == 2
    assert served == bedridden | {first_alone}


def test_a_hotline_delivery_request_is_counted_served_from_the_page_and_accepted(
    app, officer_world, db, settings
):
    from tests.factories.hotline import T0, build_hotline, call
    from tests.factories.registry import add_residents
    from tests.factories.supplies import AT
    from tongxin.hotline import service as hotline
    from tongxin.hotline.models import LinkedWork
    from tongxin.hotline.rules import LinkedWorkKind, LinkedWorkStatus
    from tongxin.registry.models import Resident
    from tongxin.supplies.hotline_requests import order_ref

    with session_scope(make_sessionmaker(db)) as s:
        add_residents(s, officer_world.household, 2)
        operator = s.scalar(select(User).where(User.username == "supplies"))
        assert operator is not None
        build_hotline(s, officer_world.street, [operator])
        resident = s.scalars(
            select(Resident).where(Resident.household_id == officer_world.household.id)
        ).first()
        taken = call(s, operator, resident_code=resident.resident_code, phone=resident.phone)
        work = hotline.spawn_work(
            s, case=taken.case, kind=LinkedWorkKind.DELIVERY, details="蔬菜包", by="op", now=T0
        )
        work_id = work.id
        service.receive_donation(
            s,
            donor=service.add_donor(s, name="个人", kind="individual"),
            warehouse=service.warehouse_by_code(s, "CK1"),
            lines=[
                service.IntakeLine("VEG", "70", "kg", date(2099, 1, 1)),
                service.IntakeLine("RICE", "14", "kg", date(2099, 1, 1)),
            ],
            at=AT,
            by="t",
            settings=settings,
        )
        service.assemble(
            s,
            package=service.item_by_code(s, "PKG"),
            packages=13,
            warehouse=service.warehouse_by_code(s, "CK1"),
            at=AT,
            by="t",
        )
    with TestClient(app):
        officer = _client(app, "supplies")
        preview = officer.get("/supplies/allocations", params={"area": officer_world.street.code})
        assert 'data-testid="need-hotline">1<' in preview.text
        made = post_form(
            officer,
            "/supplies/allocations",
            {
                "area": officer_world.street.code,
                "item": "PKG",
                "warehouse": "CK1",
                "delivery_date": DAY.isoformat(),
                "hotline": "on",
            },
            page="/supplies/allocations",
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text[:400]
    with session_scope(make_sessionmaker(db)) as s:
        orders = list(s.scalars(select(DeliveryOrder)))
        assert len(orders) == 13  # the 12 in need and the caller's household
        work = s.get_one(LinkedWork, work_id)
        assert work.status == LinkedWorkStatus.ACCEPTED.value
        assert work.external_ref in {order_ref(o.id) for o in orders}
