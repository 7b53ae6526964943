"""Hotline delivery requests become allocation households and follow their order to the door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories.hotline import T0, build_hotline, call
from tests.factories.registry import add_residents, build_tree
from tests.factories.supplies import AT, DAY, stocked_depot
from tongxin.accounts.models import User
from tongxin.audit.context import Actor
from tongxin.hotline import service as hotline
from tongxin.hotline.models import HotlineCase, LinkedWork
from tongxin.hotline.rules import LinkedWorkKind, LinkedWorkStatus
from tongxin.registry.models import Resident
from tongxin.supplies import allocation, hotline_requests, service
from tongxin.supplies.models import DeliveryOrder

DRIVER = Actor(name="d", role="volunteer", source="test")


def _operator(session, area) -> User:
    user = User(
        username="op",
        display_name="接线员",
        password_hash="x",
        role="hotline_operator",
        jurisdiction_id=area.id,
        is_active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def _request_delivery(session, operator, *, resident: Resident | None, phone: str) -> LinkedWork:
    taken = call(
        session,
        operator,
        phone=phone,
        resident_code=resident.resident_code if resident else None,
        description="家里没有菜了,腿脚不便出不了门",
    )
    return hotline.spawn_work(
        session,
        case=taken.case,
        kind=LinkedWorkKind.DELIVERY,
        details="蔬菜包一份",
        by="op",
        now=T0,
    )


def test_a_registered_callers_delivery_request_is_allocated_accepted_and_done(session, settings):
    tree = build_tree(session)
    add_residents(session, tree.household, 2)
    operator = _operator(session, tree.street)
    build_hotline(session, tree.street, [operator])
    resident = session.scalars(
        select(Resident).where(Resident.household_id == tree.household.id)
    ).first()
    asked = _request_delivery(session, operator, resident=resident, phone="13800000001")
    stranger = _request_delivery(session, operator, resident=None, phone="13900000009")

    found = hotline_requests.delivery_requests(session, area=tree.street)
    assert [r.work_id for r in found.matched] == [asked.id]
    assert found.household_ids == [tree.household.id]
    assert found.without_household == 1
    # The other community has neither request.
    other = hotline_requests.delivery_requests(session, area=tree.other_community)
    assert other.matched == [] and other.without_household == 0

    depot = stocked_depot(session, settings)
    service.assemble(
        session, package=depot.package, packages=1, warehouse=depot.warehouse, at=AT, by="t"
    )
    made = allocation.allocate_to_households(
        session,
        household_ids=found.household_ids,
        item=depot.package,
        warehouse=depot.warehouse,
        total=1,
        delivery_date=DAY,
        at=AT,
        by="wuzi",
        name="热线求助配送",
    )
    assert (
        hotline_requests.accept_requests(
            session, requests=found.matched, allocation=made, by="wuzi", now=AT
        )
        == 1
    )
    order = session.scalars(
        select(DeliveryOrder).where(DeliveryOrder.allocation_id == made.id)
    ).one()
    session.refresh(asked)
    assert asked.status == LinkedWorkStatus.ACCEPTED.value
    assert asked.external_ref == hotline_requests.order_ref(order.id)
    # Accepted work is no longer offered to the next allocation.
    assert hotline_requests.delivery_requests(session, area=tree.street).matched == []

    allocation.confirm_delivery(
        session,
        order=order,
        pin=order.pin,
        signature_svg=None,
        at=AT + timedelta(days=1),
        actor=DRIVER,
    )
    session.refresh(asked)
    session.refresh(stranger)
    assert asked.status == LinkedWorkStatus.DONE.value
    assert stranger.status == LinkedWorkStatus.REQUESTED.value
    case = session.get_one(HotlineCase, asked.case_id)
    notes = [e.text for e in hotline.timeline(session, case)]
    assert notes[-2:] == ["delivery: accepted", "delivery: done"]
