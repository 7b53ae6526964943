"""Allocation: recipients (households in need, institutions), allocation plans, delivery orders.

`allocate_to_households` takes a plain list of household ids. The registry's groups feed it
(`needy_households`), and so do hotline cases that asked for a delivery (`hotline_requests`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from tongxin.audit import service as audit
from tongxin.audit.context import Actor
from tongxin.audit.models import AuditEntry
from tongxin.registry.models import Area, Household, Resident
from tongxin.supplies import hotline_requests, rules, service
from tongxin.supplies.models import Allocation, DeliveryOrder, Item, Recipient, Warehouse
from tongxin.supplies.rules import SuppliesError

CHINA = timezone(timedelta(hours=8))
INSTITUTION_KINDS = ("school", "elderly_home", "community")


@dataclass(frozen=True)
class NeedyHousehold:
    """A household the registry's groups mark as in need, and why."""

    household_id: int
    people: int
    reason: str  # elderly_alone | bedridden
    oldest: date  # the oldest present member's birth date, for serving the oldest first


def needy_households(
    session: Session, *, area: Area, today: date, elderly_age: int
) -> list[NeedyHousehold]:
    """List households under `area` with a bedridden member or one elderly person alone."""
    column = getattr(Resident, f"{area.level}_id", None)
    if column is None:
        raise SuppliesError(
            "bad_area", f"cannot list households under a {area.level}", where="area"
        )
    # Born on or before this day: `elderly_age` whole years old today (29 Feb -> 28 Feb).
    try:
        cutoff = today.replace(year=today.year - elderly_age)
    except ValueError:
        cutoff = today.replace(year=today.year - elderly_age, day=28)
    rows = session.execute(
        select(
            Resident.household_id,
            func.count(),
            func.sum(case((Resident.bedridden, 1), else_=0)),
            func.max(Resident.birth_date),
            func.min(Resident.birth_date),
        )
        .where(column == area.id, Resident.status == "present")
        .group_by(Resident.household_id)
        .order_by(Resident.household_id)
    ).all()
    out = []
    for household_id, people, bedridden, youngest, oldest in rows:
        if bedridden:
            out.append(NeedyHousehold(household_id, int(people), "bedridden", oldest))
        elif people == 1 and youngest <= cutoff:
            out.append(NeedyHousehold(household_id, 1, "elderly_alone", oldest))
    return out


def most_in_need(needy: Sequence[NeedyHousehold], limit: int | None) -> list[NeedyHousehold]:
    """Return at most `limit` households, bedridden first, then the oldest (rules.by_priority).

    An officer with packages for fewer households than an area has in need serves these.
    """
    by_id = {n.household_id: n for n in needy}
    ranked = rules.by_priority([(n.household_id, n.reason, n.oldest) for n in needy], limit)
    return [by_id[hid] for hid, _, _ in ranked]


def recipients_for_households(session: Session, household_ids: Sequence[int]) -> list[Recipient]:
    """Return a recipient per household (made on first use), with address and coordinates."""
    ids = sorted(set(household_ids))
    existing = {
        r.household_id: r
        for r in session.scalars(select(Recipient).where(Recipient.household_id.in_(ids)))
    }
    missing = [i for i in ids if i not in existing]
    if missing:
        building = Area.__table__.alias("building")
        compound = Area.__table__.alias("compound")
        people = (
            select(Resident.household_id, func.count().label("n"))
            .where(Resident.household_id.in_(missing), Resident.status == "present")
            .group_by(Resident.household_id)
            .subquery()
        )
        rows = session.execute(
            select(
                Household.id,
                Household.room,
                Household.district_id,
                Household.area_id,
                building.c.name,
                compound.c.name,
                func.coalesce(building.c.latitude, compound.c.latitude),
                func.coalesce(building.c.longitude, compound.c.longitude),
                func.coalesce(people.c.n, 1),
            )
            .join(building, building.c.id == Household.building_id)
            .join(compound, compound.c.id == Household.compound_id)
            .outerjoin(people, people.c.household_id == Household.id)
            .where(Household.id.in_(missing))
        ).all()
        found = {r[0] for r in rows}
        unknown = [i for i in missing if i not in found]
        if unknown:
            raise SuppliesError(
                "unknown_household", f"no household {unknown[0]}", where="households"
            )
        for hid, room, district_id, area_id, b_name, c_name, lat, lon, n in rows:
            if lat is None or lon is None:
                raise SuppliesError(
                    "no_coordinates",
                    f"household {hid} ({c_name}{b_name}) has no coordinates",
                    where="households",
                )
            r = Recipient(
                kind="household",
                name=f"{c_name}{b_name}{room}",
                household_id=hid,
                area_id=area_id,
                district_id=district_id,
                address=f"{c_name}{b_name}{room}室",
                people=int(n),
                latitude=lat,
                longitude=lon,
            )
            session.add(r)
            existing[hid] = r
        session.flush()
    return [existing[i] for i in ids]


def add_institution(
    session: Session,
    *,
    kind: str,
    name: str,
    address: str,
    latitude: float | None,
    longitude: float | None,
    people: int = 1,
) -> Recipient:
    """Add a school, elderly-care home or community as a recipient.

    Coordinates are required: a delivery to it is routed like any other stop.
    """
    if kind not in INSTITUTION_KINDS:
        raise SuppliesError("bad_kind", f"institution kind {kind!r}", where="institution.kind")
    name = rules.required_text(name, where="institution.name", max_len=100)
    address = rules.required_text(address, where="institution.address", max_len=200)
    if latitude is None or longitude is None:
        raise SuppliesError(
            "no_coordinates", "an institution needs its coordinates", where="institution.latitude"
        )
    rules.check_coordinates(latitude, longitude, where="institution.latitude")
    if people < 1:
        raise SuppliesError("negative_quantity", f"{people} people", where="institution.people")
    r = Recipient(
        kind=kind, name=name, address=address, people=people, latitude=latitude, longitude=longitude
    )
    session.add(r)
    session.flush()
    return r


def institutions(session: Session, ids: Sequence[int] | None = None) -> list[Recipient]:
    """Return the institution recipients (all, or those with these ids), by name.

    An id that is no institution (unknown, or a household) is `unknown_recipient`: households
    are allocated through their area's need, never picked one by one here.
    """
    q = select(Recipient).where(Recipient.kind.in_(INSTITUTION_KINDS))
    if ids is not None:
        q = q.where(Recipient.id.in_(ids))
    found = list(session.scalars(q.order_by(Recipient.name, Recipient.id)))
    if ids is not None:
        missing = sorted(set(ids) - {r.id for r in found})
        if missing:
            raise SuppliesError(
                "unknown_recipient", f"no institution {missing[0]}", where="institutions"
            )
    return found


@dataclass(frozen=True)
class Window:
    """A delivery time window in China local wall-clock time on the delivery day."""

    start: time = time(9, 0)
    end: time = time(18, 0)

    def on(self, day: date) -> tuple[datetime, datetime]:
        """Return the window as UTC instants on `day`."""
        return (
            datetime.combine(day, self.start, tzinfo=CHINA).astimezone(UTC),
            datetime.combine(day, self.end, tzinfo=CHINA).astimezone(UTC),
        )


def allocate(
    session: Session,
    *,
    name: str,
    item: Item,
    warehouse: Warehouse,
    recipients: Sequence[Recipient],
    total: int,
    delivery_date: date,
    window: Window,
    urgency: str,
    at: datetime,
    by: str,
    split: str = "by_size",
) -> Allocation:
    """Allocate `total` units of an item among recipients and make one delivery order each.

    `split` is `by_size` (one each, the rest by household size) or `equal` (the same each).
    The stock is set aside (free -> allocated) in the same operation; too little stock,
    a bad window or an unknown urgency refuses the whole allocation.
    """
    if not recipients:
        raise SuppliesError("missing", "no recipients to allocate to", where="recipients")
    if urgency not in ("normal", "urgent"):
        raise SuppliesError(
            "bad_urgency", f"urgency {urgency!r}: normal or urgent", where="urgency"
        )
    if window.end <= window.start:
        raise SuppliesError(
            "empty_window",
            f"time window {window.start:%H:%M}-{window.end:%H:%M} is empty",
            where="window",
        )
    sizes = {r.id: r.people for r in recipients}
    if split == "by_size":
        shares = rules.split_by_size(total, sizes)
    elif split == "equal":
        each, rest = divmod(total, len(recipients))
        if rest:
            raise SuppliesError(
                "uneven", f"{total} does not split equally among {len(recipients)}", where="total"
            )
        shares = dict.fromkeys(sizes, each)
    else:
        raise SuppliesError("bad_split", f"split {split!r}: by_size or equal", where="split")
    # Checked as a whole before any stock moves, so a short allocation writes nothing.
    service.pick(
        session, warehouse_id=warehouse.id, item=item, milli=total * rules.MILLI, today=at.date()
    )
    allocation = Allocation(
        name=name,
        item_id=item.id,
        warehouse_id=warehouse.id,
        delivery_date=delivery_date,
        created_at=at,
        created_by=by,
    )
    session.add(allocation)
    session.flush()
    start, end = window.on(delivery_date)
    for r in recipients:
        units = shares[r.id]
        if units <= 0:
            continue
        order = DeliveryOrder(
            allocation_id=allocation.id,
            recipient_id=r.id,
            item_id=item.id,
            warehouse_id=warehouse.id,
            milli=units * rules.MILLI,
            weight_g=units * item.unit_weight_g,
            address=r.address,
            latitude=r.latitude,
            longitude=r.longitude,
            delivery_date=delivery_date,
            window_start=start,
            window_end=end,
            urgency=urgency,
            status="open",
            pin=f"{secrets.randbelow(10_000):04d}",
        )
        session.add(order)
        session.flush()
        service.allocate_stock(
            session,
            item=item,
            warehouse_id=warehouse.id,
            milli=order.milli,
            ref=f"order:{order.id}",
            at=at,
            by=by,
        )
    return allocation


def allocate_to_households(
    session: Session,
    *,
    household_ids: Sequence[int],
    item: Item,
    warehouse: Warehouse,
    total: int,
    delivery_date: date,
    at: datetime,
    by: str,
    name: str,
    window: Window | None = None,
    urgency: str = "normal",
) -> Allocation:
    """Allocate to households given by id: the seam registry groups and hotline cases feed."""
    recipients = recipients_for_households(session, household_ids)
    return allocate(
        session,
        name=name,
        item=item,
        warehouse=warehouse,
        recipients=recipients,
        total=total,
        delivery_date=delivery_date,
        window=window or Window(),
        urgency=urgency,
        at=at,
        by=by,
    )


@dataclass(frozen=True)
class AreaAllocation:
    """An allocation to an area's households in need and what the hotline added to it."""

    allocation: Allocation
    households: int
    hotline_requests: int
    hotline_requests_without_household: int


def allocate_to_area(
    session: Session,
    *,
    area: Area,
    item: Item,
    warehouse: Warehouse,
    delivery_date: date,
    at: datetime,
    by: str,
    elderly_age: int,
    total: int | None = None,
    limit: int | None = None,
    with_hotline: bool = True,
    window: Window | None = None,
    urgency: str = "normal",
) -> AreaAllocation:
    """Allocate to an area's households in need (one unit each unless `total` is given).

    `limit` keeps the registry's most-in-need households (bedridden first, then the oldest);
    with `with_hotline` the households of registered callers whose hotline case asked for a
    delivery are served on top, and their requests are accepted with the new orders.
    """
    needy = needy_households(session, area=area, today=delivery_date, elderly_age=elderly_age)
    if limit is not None:
        needy = most_in_need(needy, limit)
    requests = (
        hotline_requests.delivery_requests(session, area=area)
        if with_hotline
        else hotline_requests.DeliveryRequests(matched=[], without_household=0)
    )
    households = sorted({n.household_id for n in needy} | set(requests.household_ids))
    made = allocate_to_households(
        session,
        household_ids=households,
        item=item,
        warehouse=warehouse,
        total=total if total is not None else len(households),
        delivery_date=delivery_date,
        at=at,
        by=by,
        name=f"{area.name} {delivery_date.isoformat()}",
        window=window,
        urgency=urgency,
    )
    accepted = hotline_requests.accept_requests(
        session, requests=requests.matched, allocation=made, by=by, now=at
    )
    return AreaAllocation(made, len(households), accepted, requests.without_household)


def orders_on(
    session: Session, day: date, *, statuses: Sequence[str] = ("open", "planned", "delivered")
) -> list[DeliveryOrder]:
    """Return the delivery orders of a day, urgent first, then by id."""
    return list(
        session.scalars(
            select(DeliveryOrder)
            .where(and_(DeliveryOrder.delivery_date == day, DeliveryOrder.status.in_(statuses)))
            .order_by(DeliveryOrder.urgency.desc(), DeliveryOrder.id)
        )
    )


# Audit actions of proof of delivery (target: the delivery order). Wrong PINs are counted
# from the audit log since the order's last reset, so the limit needs no column of its own
# and every attempt stays on the hash-chained record.
PIN_WRONG = "supplies.delivery.pin_wrong"
PIN_RESET = "supplies.delivery.pin_reset"
CONFIRMED = "supplies.delivery.confirm"
ORDER_TARGET = "delivery_order"


def wrong_pins(session: Session, order_ids: Sequence[int]) -> dict[int, int]:
    """Return the wrong PINs typed for each order since its last reset (orders with none: 0)."""
    found = dict.fromkeys(order_ids, 0)
    if not order_ids:
        return found
    rows = session.execute(
        select(AuditEntry.target_id, AuditEntry.action)
        .where(
            AuditEntry.target_type == ORDER_TARGET,
            AuditEntry.target_id.in_([str(i) for i in order_ids]),
            AuditEntry.action.in_((PIN_WRONG, PIN_RESET)),
        )
        .order_by(AuditEntry.number)
    ).all()
    for target, action in rows:
        order_id = int(target)
        found[order_id] = found[order_id] + 1 if action == PIN_WRONG else 0
    return found


def _order_area(session: Session, order: DeliveryOrder) -> int | None:
    # A household's unit, so the entry is seen inside its community; institutions have none.
    return session.scalar(select(Recipient.area_id).where(Recipient.id == order.recipient_id))


def _refuse_if_delivered(order: DeliveryOrder) -> None:
    if order.status == "delivered":
        raise SuppliesError(
            "already_delivered", f"order {order.id} is already delivered", where="order"
        )


def reset_pin_attempts(
    session: Session, *, order: DeliveryOrder, actor: Actor, at: datetime
) -> None:
    """Let a locked order's PIN be tried again (the dispatcher's reset), recorded in the audit."""
    _refuse_if_delivered(order)
    audit.record(
        session,
        actor=actor,
        action=PIN_RESET,
        target_type=ORDER_TARGET,
        target_id=order.id,
        area=_order_area(session, order),
        now=at,
        before={"wrong_pins": wrong_pins(session, [order.id])[order.id]},
    )


def confirm_delivery(
    session: Session,
    *,
    order: DeliveryOrder,
    pin: str | None,
    signature_svg: str | None,
    at: datetime,
    actor: Actor,
) -> int:
    """Record the recipient's confirmation (PIN or signature) and issue the allocated stock.

    No proof, a bad signature, an order already delivered or a locked PIN change nothing. A
    wrong PIN changes nothing but its audit entry, which the caller keeps (commits): after
    `rules.PIN_ATTEMPTS` of them the PIN is refused (`pin_locked`) until the dispatcher
    resets it, and a signature still confirms. A confirmation is audited with its proof.
    Returns the thousandths issued.
    """
    _refuse_if_delivered(order)
    if pin:
        wrong = wrong_pins(session, [order.id])[order.id]
        if rules.pin_attempts_left(wrong) == 0:
            raise SuppliesError(
                "pin_locked",
                f"order {order.id}: {wrong} wrong PINs; sign on the phone or ask the dispatcher "
                "to reset the PIN",
                where="pin",
            )
        if not secrets.compare_digest(pin.strip(), order.pin):
            audit.record(
                session,
                actor=actor,
                action=PIN_WRONG,
                target_type=ORDER_TARGET,
                target_id=order.id,
                area=_order_area(session, order),
                now=at,
            )
            left = rules.pin_attempts_left(wrong + 1)
            raise SuppliesError(
                "wrong_pin", f"wrong PIN for order {order.id} ({left} tries left)", where="pin"
            )
        kind = "pin"
    elif signature_svg and signature_svg.strip():
        if len(signature_svg) > 60_000 or not signature_svg.lstrip().startswith("M"):
            raise SuppliesError(
                "bad_signature", "the signature is not a drawn path", where="signature"
            )
        kind = "signature"
    else:
        raise SuppliesError("missing_proof", "a PIN or a signature is needed", where="proof")
    issued = service.issue_allocated(
        session,
        item_id=order.item_id,
        warehouse_id=order.warehouse_id,
        ref=f"order:{order.id}",
        at=at,
        by=actor.name,
    )
    order.status = "delivered"
    order.delivered_at = at
    order.proof_kind = kind
    order.signature_svg = signature_svg if kind == "signature" else None
    session.flush()
    # A hotline case that asked for this delivery sees it done on its timeline.
    hotline_requests.finish_requests(session, order=order, by=actor.name, now=at)
    # Audited last: record() takes the chain lock, best held only until the commit.
    audit.record(
        session,
        actor=actor,
        action=CONFIRMED,
        target_type=ORDER_TARGET,
        target_id=order.id,
        area=_order_area(session, order),
        now=at,
        after={"proof": kind, "issued": rules.show_milli(issued), "item_id": order.item_id},
    )
    return issued
