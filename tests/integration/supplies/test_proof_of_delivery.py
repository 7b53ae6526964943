"""Proof of delivery: wrong PINs are limited per order, and every attempt and confirmation is
on the audit chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories.registry import build_tree
from tests.factories.supplies import AT, DAY, add_needy_households, stocked_depot
from tongxin.audit import service as audit
from tongxin.audit.context import Actor
from tongxin.audit.models import AuditEntry
from tongxin.supplies import allocation, reports, service
from tongxin.supplies.models import DeliveryOrder
from tongxin.supplies.rules import PIN_ATTEMPTS, SuppliesError

DRIVER = Actor(name="driver1", role="volunteer", source="test")
DISPATCHER = Actor(name="supplies", role="supplies_officer", source="test")
SIGNATURE = "M10 60 L120 30 L220 90"


@pytest.fixture
def order(session, settings) -> DeliveryOrder:
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
    return session.scalars(select(DeliveryOrder)).one()


def _wrong(order: DeliveryOrder) -> str:
    return "0000" if order.pin != "0000" else "1111"


def _try(session, order, *, pin=None, signature=None) -> str | None:
    """Confirm; return the refusal's code, or None when it was confirmed."""
    try:
        allocation.confirm_delivery(
            session, order=order, pin=pin, signature_svg=signature, at=AT, actor=DRIVER
        )
    except SuppliesError as exc:
        return exc.code
    return None


def _actions(session, order) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "delivery_order")
            .where(AuditEntry.target_id == str(order.id))
            .order_by(AuditEntry.number)
        )
    )


def test_after_five_wrong_pins_even_the_right_pin_is_refused_but_a_signature_confirms(
    session, order
):
    codes = [_try(session, order, pin=_wrong(order)) for _ in range(PIN_ATTEMPTS)]
    assert codes == ["wrong_pin"] * PIN_ATTEMPTS
    assert _try(session, order, pin=order.pin) == "pin_locked"
    assert order.status == "open"
    assert reports.item_totals(session)["PKG-VEG"] == 1000

    assert _try(session, order, signature=SIGNATURE) is None
    assert order.status == "delivered" and order.proof_kind == "signature"
    assert _actions(session, order) == ["supplies.delivery.pin_wrong"] * PIN_ATTEMPTS + [
        "supplies.delivery.confirm"
    ]
    assert audit.verify(session).broken is None


def test_the_wrong_pin_message_counts_down_the_tries_left(session, order):
    with pytest.raises(SuppliesError) as first:
        allocation.confirm_delivery(
            session, order=order, pin=_wrong(order), signature_svg=None, at=AT, actor=DRIVER
        )
    assert f"({PIN_ATTEMPTS - 1} tries left)" in first.value.message


def test_the_dispatchers_reset_lets_the_right_pin_confirm_and_both_are_audited(session, order):
    for _ in range(PIN_ATTEMPTS):
        _try(session, order, pin=_wrong(order))
    assert allocation.wrong_pins(session, [order.id]) == {order.id: PIN_ATTEMPTS}

    allocation.reset_pin_attempts(session, order=order, actor=DISPATCHER, at=AT)
    assert allocation.wrong_pins(session, [order.id]) == {order.id: 0}
    assert _try(session, order, pin=order.pin) is None
    assert order.proof_kind == "pin"

    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "delivery_order")
            .order_by(AuditEntry.number)
        )
    )
    reset, confirmed = entries[-2], entries[-1]
    assert (reset.action, reset.actor) == ("supplies.delivery.pin_reset", "supplies")
    assert reset.summary["before"] == {"wrong_pins": PIN_ATTEMPTS}
    assert (confirmed.action, confirmed.actor) == ("supplies.delivery.confirm", "driver1")
    assert confirmed.summary["after"]["proof"] == "pin"
    assert confirmed.summary["after"]["issued"] == "1"
    # Seen where the household lives (its unit, inside its community).
    assert confirmed.area_id == session.get(allocation.Recipient, order.recipient_id).area_id
    assert audit.verify(session).broken is None


def test_a_delivered_orders_pin_cannot_be_reset(session, order):
    assert _try(session, order, pin=order.pin) is None
    with pytest.raises(SuppliesError) as caught:
        allocation.reset_pin_attempts(session, order=order, actor=DISPATCHER, at=AT)
    assert caught.value.code == "already_delivered"
