"""Delivery requests from hotline cases, as households an allocation can serve.

A hotline operator asks for a delivery on a case (`hotline.service.spawn_work` with kind
delivery). When the case names a registered resident, the resident's household can receive
an allocation beside the households the registry's groups mark as in need; the request is
then accepted with the delivery order as its reference, and done when the order is
delivered, so the hotline case shows where its delivery is. A request whose caller is not
in the registry has no door to deliver to: it stays requested on the hotline board, and is
counted here so the supplies officer sees it is waiting for someone to find the household.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongxin.hotline import service as hotline
from tongxin.hotline.models import HotlineCase, LinkedWork
from tongxin.hotline.rules import LinkedWorkKind, LinkedWorkStatus
from tongxin.registry.models import Area, Resident
from tongxin.supplies.models import Allocation, DeliveryOrder, Recipient
from tongxin.supplies.rules import SuppliesError

# Levels a case is placed at (its responsible area's ancestors are copied onto it).
_CASE_LEVELS = ("district", "street", "community")


@dataclass(frozen=True)
class DeliveryRequest:
    """A requested hotline delivery whose caller's household is known."""

    work_id: int
    case_code: str
    household_id: int
    details: str


@dataclass(frozen=True)
class DeliveryRequests:
    """The requests under an area that can be allocated, and how many cannot (no resident)."""

    matched: list[DeliveryRequest]
    without_household: int

    @property
    def household_ids(self) -> list[int]:
        return sorted({r.household_id for r in self.matched})


def delivery_requests(session: Session, *, area: Area) -> DeliveryRequests:
    """Return the requested hotline deliveries of residents living under `area`."""
    column = getattr(Resident, f"{area.level}_id", None)
    if column is None:
        raise SuppliesError(
            "bad_area", f"cannot list households under a {area.level}", where="area"
        )
    requested = (
        LinkedWork.kind == LinkedWorkKind.DELIVERY.value,
        LinkedWork.status == LinkedWorkStatus.REQUESTED.value,
    )
    rows = session.execute(
        select(LinkedWork.id, HotlineCase.code, Resident.household_id, LinkedWork.details)
        .join(HotlineCase, HotlineCase.id == LinkedWork.case_id)
        .join(Resident, Resident.id == HotlineCase.resident_id)
        .where(*requested, column == area.id, Resident.status == "present")
        .order_by(LinkedWork.id)
    ).all()
    matched = [DeliveryRequest(int(w), str(c), int(h), str(d)) for w, c, h, d in rows]
    without = 0
    if area.level in _CASE_LEVELS:
        # A caller not in the registry is placed by the case's routed area only.
        without = int(
            session.scalar(
                select(func.count())
                .select_from(LinkedWork)
                .join(HotlineCase, HotlineCase.id == LinkedWork.case_id)
                .where(
                    *requested,
                    HotlineCase.resident_id.is_(None),
                    getattr(HotlineCase, f"{area.level}_id") == area.id,
                )
            )
            or 0
        )
    return DeliveryRequests(matched=matched, without_household=without)


def accept_requests(
    session: Session,
    *,
    requests: Sequence[DeliveryRequest],
    allocation: Allocation,
    by: str,
    now: datetime,
) -> int:
    """Accept each request whose household got an order of `allocation`; return how many."""
    orders: dict[int | None, int] = {
        household_id: order_id
        for household_id, order_id in session.execute(
            select(Recipient.household_id, DeliveryOrder.id)
            .join(Recipient, Recipient.id == DeliveryOrder.recipient_id)
            .where(DeliveryOrder.allocation_id == allocation.id)
        )
    }
    accepted = 0
    for request in requests:
        order_id = orders.get(request.household_id)
        if order_id is None:
            continue  # the split gave this household nothing; the request stays open
        work = session.get_one(LinkedWork, request.work_id)
        hotline.move_work(
            session,
            work=work,
            status=LinkedWorkStatus.ACCEPTED,
            by=by,
            now=now,
            external_ref=order_ref(order_id),
        )
        accepted += 1
    return accepted


def finish_requests(session: Session, *, order: DeliveryOrder, by: str, now: datetime) -> int:
    """Mark the hotline deliveries this order served as done; return how many."""
    works = session.scalars(
        select(LinkedWork).where(
            LinkedWork.external_ref == order_ref(order.id),
            LinkedWork.status == LinkedWorkStatus.ACCEPTED.value,
        )
    ).all()
    for work in works:
        hotline.move_work(session, work=work, status=LinkedWorkStatus.DONE, by=by, now=now)
    return len(works)


def order_ref(order_id: int) -> str:
    """The reference a hotline request keeps of the delivery order serving it."""
    return f"delivery_order:{order_id}"
