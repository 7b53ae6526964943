"""Donor to door on a real database: intake, assembly, allocation, routing, delivery, reports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.registry import build_tree
from tests.factories.supplies import AT, DAY, add_fleet, add_needy_households, stocked_depot
from tongxin.audit.context import Actor
from tongxin.logistics import service as logistics
from tongxin.logistics.models import Trip
from tongxin.logistics.rules import RoutingError
from tongxin.supplies import allocation, reports, service
from tongxin.supplies.models import DeliveryOrder, StockMove
from tongxin.supplies.rules import SuppliesError
from tongxin.supplies.service import IntakeLine

DRIVER = Actor(name="driver", role="volunteer", source="test")


def test_forty_needy_households_get_packages_and_the_figures_agree_to_the_kilogram(
    session, settings
):
    tree = build_tree(session)
    add_needy_households(session, tree.community, 40)
    depot = stocked_depot(session, settings)
    service.assemble(
        session, package=depot.package, packages=40, warehouse=depot.warehouse, at=AT, by="t"
    )

    needy = allocation.needy_households(
        session, area=tree.community, today=date(2022, 9, 20), elderly_age=60
    )
    assert len(needy) == 40
    assert {n.reason for n in needy} == {"elderly_alone", "bedridden"}
    allocation.allocate_to_households(
        session,
        household_ids=[n.household_id for n in needy],
        item=depot.package,
        warehouse=depot.warehouse,
        total=40,
        delivery_date=DAY,
        at=AT,
        by="t",
        name="第一批蔬菜包",
    )
    add_fleet(session, depot.warehouse, 3)
    plan = logistics.plan_day(
        session, day=DAY, settings=settings.model_copy(update={"route_time_limit_s": 1.0})
    )
    assert plan.stops == 40 and plan.weight_g == 40 * 6000

    for trip in logistics.trips_on(session, DAY):
        for stop in logistics.trip_stops(session, trip):
            order = session.get_one(DeliveryOrder, stop.order_id)
            logistics.confirm_stop(
                session,
                trip=trip,
                order_id=order.id,
                pin=order.pin,
                signature_svg=None,
                at=AT + timedelta(days=1),
                actor=DRIVER,
            )

    totals = reports.item_totals(session)
    assert totals == {"VEG": 600_000 - 200_000, "RICE": 150_000 - 40_000, "PKG-VEG": 0}
    log = logistics.trip_log(session)
    assert sum(r["delivered_kg"] for r in log) == 240
    assert sum(r["deliveries"] for r in log) == 40
    report = reports.donor_report(session, depot.donor)
    assert report["delivered_kg"] == "240"
    assert report["recipients"] == 40
    veg = next(line for line in report["lines"] if line["item_code"] == "VEG")
    assert (veg["received"], veg["in_packages"], veg["in_stock"]) == ("600", "200", "400")
    assert all(t.status == "done" for t in session.scalars(select(Trip)))


def _moves(session) -> int:
    return session.scalar(select(func.count()).select_from(StockMove))


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (IntakeLine("VEG", "10", "斤"), "unknown_unit"),
        (IntakeLine("VEG", "-5", "kg", expires_on=date(2022, 10, 1)), "negative_quantity"),
        (IntakeLine("VEG", "abc", "kg"), "bad_quantity"),
        (IntakeLine("VEG", "3", "bottle", expires_on=date(2022, 10, 1)), "unit_mismatch"),
        (IntakeLine("VEG", "3", "kg"), "missing_expiry"),
        (IntakeLine("NOPE", "3", "kg"), "unknown_item"),
    ],
)
def test_a_bad_intake_line_is_refused_naming_its_line_and_changes_nothing(
    session, settings, line, code
):
    depot = stocked_depot(session, settings)
    before = _moves(session)
    good = IntakeLine("RICE", "5", "kg", expires_on=date(2023, 1, 1))
    with pytest.raises(SuppliesError) as caught:
        service.receive_donation(
            session,
            donor=depot.donor,
            warehouse=depot.warehouse,
            lines=[good, line],
            at=AT,
            by="t",
            settings=settings,
        )
    assert caught.value.code == code
    assert caught.value.where.startswith("line 2")
    assert _moves(session) == before


def test_issuing_beyond_stock_is_refused_and_changes_nothing(session, settings):
    depot = stocked_depot(session, settings)
    before = _moves(session)
    with pytest.raises(SuppliesError) as caught:
        service.assemble(
            session, package=depot.package, packages=200, warehouse=depot.warehouse, at=AT, by="t"
        )
    assert caught.value.code == "insufficient_stock"
    assert "蔬菜 (VEG)" in caught.value.message
    with pytest.raises(SuppliesError):
        service.issue(
            session,
            item=depot.rice,
            warehouse=depot.warehouse,
            quantity="151",
            to="学校",
            at=AT,
            by="t",
        )
    assert _moves(session) == before


def test_liquid_oxygen_tonnes_and_bottles_are_stocked_as_gas_by_the_settings_factors(
    session, settings
):
    depot = stocked_depot(session, settings)
    service.add_item(session, code="O2", name="医用氧气", unit="m3", oxygen=True)
    service.receive_donation(
        session,
        donor=depot.donor,
        warehouse=depot.warehouse,
        lines=[IntakeLine("O2", "70", "t"), IntakeLine("O2", "667", "bottle")],
        at=AT,
        by="t",
        settings=settings,
    )
    # 70 t x 751 m³/t + 667 x 6 m³ = 56,572 m³: "about 60,000 m³ as gas".
    assert reports.item_totals(session)["O2"] == (70 * 751 + 667 * 6) * 1000


def test_issues_take_the_earliest_expiry_first_and_skip_expired_lots(session, settings):
    depot = stocked_depot(session, settings, rice_kg="10")
    for expires, kg in [(date(2022, 9, 25), "4"), (date(2022, 9, 1), "7")]:
        service.receive_donation(
            session,
            donor=depot.donor,
            warehouse=depot.warehouse,
            lines=[IntakeLine("RICE", kg, "kg", expires_on=expires)],
            at=AT,
            by="t",
            settings=settings,
        )
    service.issue(
        session,
        item=depot.rice,
        warehouse=depot.warehouse,
        quantity="6",
        to="社区食堂",
        at=AT,
        by="t",
    )
    rows = {
        r.expires_on: r.free_milli for r in reports.stock_on_hand(session) if r.item_code == "RICE"
    }
    # The 25 Sept lot went first, then 2 kg of the 2023 lot; the lot expired on 1 Sept stays.
    assert rows == {date(2023, 9, 1): 8000, date(2022, 9, 1): 7000}


def test_an_order_whose_window_no_vehicle_can_meet_is_refused_by_name(session, settings):
    tree = build_tree(session)
    ids = add_needy_households(session, tree.community, 3)
    depot = stocked_depot(session, settings)
    service.assemble(
        session, package=depot.package, packages=3, warehouse=depot.warehouse, at=AT, by="t"
    )
    allocation.allocate_to_households(
        session,
        household_ids=ids[:2],
        item=depot.package,
        warehouse=depot.warehouse,
        total=2,
        delivery_date=DAY,
        at=AT,
        by="t",
        name="a",
    )
    late = allocation.allocate_to_households(
        session,
        household_ids=ids[2:],
        item=depot.package,
        warehouse=depot.warehouse,
        total=1,
        delivery_date=DAY,
        at=AT,
        by="t",
        name="b",
        window=allocation.Window(start=allocation.time(21, 0), end=allocation.time(22, 0)),
    )
    add_fleet(session, depot.warehouse, 1)
    late_order = session.scalar(select(DeliveryOrder).where(DeliveryOrder.allocation_id == late.id))
    with pytest.raises(RoutingError) as caught:
        logistics.plan_day(session, day=DAY, settings=settings)
    assert caught.value.code == "window_unreachable"
    assert f"order {late_order.id}" in caught.value.where
    assert session.scalar(select(func.count()).select_from(Trip)) == 0


def test_an_empty_window_is_refused_before_any_stock_is_set_aside(session, settings):
    tree = build_tree(session)
    ids = add_needy_households(session, tree.community, 1)
    depot = stocked_depot(session, settings)
    service.assemble(
        session, package=depot.package, packages=1, warehouse=depot.warehouse, at=AT, by="t"
    )
    before = _moves(session)
    with pytest.raises(SuppliesError) as caught:
        allocation.allocate_to_households(
            session,
            household_ids=ids,
            item=depot.package,
            warehouse=depot.warehouse,
            total=1,
            delivery_date=DAY,
            at=AT,
            by="t",
            name="x",
            window=allocation.Window(start=allocation.time(15, 0), end=allocation.time(14, 0)),
        )
    assert caught.value.code == "empty_window"
    assert _moves(session) == before


def test_a_wrong_pin_confirms_nothing(session, settings):
    tree = build_tree(session)
    ids = add_needy_households(session, tree.community, 1)
    depot = stocked_depot(session, settings)
    service.assemble(
        session, package=depot.package, packages=1, warehouse=depot.warehouse, at=AT, by="t"
    )
    allocation.allocate_to_households(
        session,
        household_ids=ids,
        item=depot.package,
        warehouse=depot.warehouse,
        total=1,
        delivery_date=DAY,
        at=AT,
        by="t",
        name="x",
    )
    order = session.scalar(select(DeliveryOrder))
    wrong = "0000" if order.pin != "0000" else "1111"
    with pytest.raises(SuppliesError) as caught:
        allocation.confirm_delivery(
            session, order=order, pin=wrong, signature_svg=None, at=AT, actor=DRIVER
        )
    assert caught.value.code == "wrong_pin"
    assert order.status == "open"
    assert reports.item_totals(session)["PKG-VEG"] == 1000
