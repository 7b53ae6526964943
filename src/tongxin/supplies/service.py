"""Supplies use cases: donors, warehouses, items, donation intake and every stock movement.

Each operation validates everything first, then checks the whole set of ledger entries it
would write against the balances (rules.apply_moves) before writing any: a refused
operation writes nothing. The caller owns the transaction (flush, never commit).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongxin.settings import Settings
from tongxin.supplies import rules
from tongxin.supplies.models import (
    Assembly,
    Donation,
    DonationLine,
    Donor,
    Item,
    Lot,
    PackageComponent,
    StockMove,
    Warehouse,
)
from tongxin.supplies.rules import Bucket, MoveKind, Position, SuppliesError, Unit

DONOR_KINDS = ("enterprise", "organisation", "individual")


def factors_from(settings: Settings) -> rules.Factors:
    """Return the physical conversion factors the settings name."""
    return rules.Factors(
        oxygen_gas_m3_per_liquid_t=Decimal(str(settings.oxygen_gas_m3_per_liquid_t)),
        oxygen_gas_m3_per_bottle=Decimal(str(settings.oxygen_gas_m3_per_bottle)),
    )


def add_donor(
    session: Session,
    *,
    name: str,
    kind: str,
    contact_name: str | None = None,
    phone: str | None = None,
    address: str | None = None,
) -> Donor:
    """Register a donor, or return the one already named so."""
    name = name.strip()
    if not name:
        raise SuppliesError("missing", "donor name is empty", where="donor.name")
    if kind not in DONOR_KINDS:
        raise SuppliesError(
            "bad_kind",
            f"donor kind {kind!r} is not one of {', '.join(DONOR_KINDS)}",
            where="donor.kind",
        )
    found = session.scalar(select(Donor).where(Donor.name == name))
    if found is not None:
        return found
    donor = Donor(name=name, kind=kind, contact_name=contact_name, phone=phone, address=address)
    session.add(donor)
    session.flush()
    return donor


def add_warehouse(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str = "warehouse",
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Warehouse:
    """Add a warehouse or depot; a depot needs coordinates (vehicles start and end there)."""
    code = rules.required_text(code, where="warehouse.code", max_len=40)
    name = rules.required_text(name, where="warehouse.name", max_len=100)
    if kind not in ("warehouse", "depot"):
        raise SuppliesError("bad_kind", f"warehouse kind {kind!r}", where="warehouse.kind")
    if kind == "depot" and (latitude is None or longitude is None):
        raise SuppliesError(
            "no_coordinates", "a depot needs its latitude and longitude", where="warehouse.latitude"
        )
    rules.check_coordinates(latitude, longitude, where="warehouse.latitude")
    if address is not None and len(address) > 200:
        raise SuppliesError("too_long", "at most 200 characters", where="warehouse.address")
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)) is not None:
        raise SuppliesError("exists", f"warehouse {code!r} exists", where="warehouse.code")
    warehouse = Warehouse(
        code=code, name=name, kind=kind, address=address, latitude=latitude, longitude=longitude
    )
    session.add(warehouse)
    session.flush()
    return warehouse


def add_item(
    session: Session,
    *,
    code: str,
    name: str,
    unit: str,
    unit_weight_g: int | None = None,
    perishable: bool = False,
    oxygen: bool = False,
) -> Item:
    """Add a stock item kept in `unit`; kg items weigh 1000 g per unit unless told."""
    code = rules.required_text(code, where="item.code", max_len=40)
    name = rules.required_text(name, where="item.name", max_len=100)
    if unit_weight_g is not None and unit_weight_g < 0:
        raise SuppliesError(
            "negative_quantity", f"{unit_weight_g} g per unit", where="item.unit_weight_g"
        )
    stock_unit = rules.parse_unit(unit, where="item.unit")
    if session.scalar(select(Item.id).where(Item.code == code)) is not None:
        raise SuppliesError("exists", f"item {code!r} exists", where="item.code")
    if unit_weight_g is None:
        unit_weight_g = {Unit.KG: 1000, Unit.T: 1_000_000, Unit.LITRE: 1000}.get(stock_unit, 0)
    item = Item(
        code=code,
        name=name,
        unit=stock_unit.value,
        unit_weight_g=unit_weight_g,
        perishable=perishable,
        oxygen=oxygen,
    )
    session.add(item)
    session.flush()
    return item


def define_package(
    session: Session, *, code: str, name: str, components: Sequence[tuple[str, str]]
) -> Item:
    """Define a package item (unit piece) by (item code, quantity per package) lines.

    Its weight is the sum of its components' weights, so delivery weights follow the
    contents and trip tonnage agrees with the stock issued.
    """
    code = rules.required_text(code, where="item.code", max_len=40)
    name = rules.required_text(name, where="item.name", max_len=100)
    if session.scalar(select(Item.id).where(Item.code == code)) is not None:
        raise SuppliesError("exists", f"item {code!r} exists", where="item.code")
    if not components:
        raise SuppliesError("missing", "a package needs at least one component", where="components")
    lines: list[tuple[Item, int]] = []
    for i, (item_code, quantity) in enumerate(components, 1):
        item = item_by_code(session, item_code, where=f"components[{i}].item")
        if item.is_package:
            raise SuppliesError(
                "nested_package", "a package cannot contain a package", where=f"components[{i}]"
            )
        q = rules.parse_quantity(quantity, where=f"components[{i}].quantity")
        lines.append((item, int(q * rules.MILLI)))
    weight_g = sum(milli * item.unit_weight_g // rules.MILLI for item, milli in lines)
    package = add_item(session, code=code, name=name, unit=Unit.PIECE.value, unit_weight_g=weight_g)
    package.is_package = True
    for item, milli in lines:
        session.add(PackageComponent(package_item_id=package.id, item_id=item.id, milli=milli))
    session.flush()
    return package


def package_contents(session: Session, package: Item) -> list[tuple[Item, str]]:
    """Return a package's components with the quantity per package, as text."""
    rows = session.execute(
        select(Item, PackageComponent.milli)
        .join(PackageComponent, PackageComponent.item_id == Item.id)
        .where(PackageComponent.package_item_id == package.id)
        .order_by(Item.code)
    ).all()
    return [(item, rules.show_milli(milli)) for item, milli in rows]


def item_by_code(session: Session, code: str, *, where: str = "item") -> Item:
    """Return the item with this code, or raise `unknown_item`."""
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise SuppliesError("unknown_item", f"no item {code!r}", where=where)
    return item


def lot_by_code(session: Session, code: str) -> tuple[Lot, Item]:
    """Return a lot and its item by the lot's code, or raise `unknown_lot`."""
    row = session.execute(
        select(Lot, Item).join(Item, Item.id == Lot.item_id).where(Lot.code == code)
    ).first()
    if row is None:
        raise SuppliesError("unknown_lot", f"no lot {code!r}", where="lot")
    return row[0], row[1]


def warehouse_by_code(session: Session, code: str, *, where: str = "warehouse") -> Warehouse:
    """Return the warehouse with this code, or raise `unknown_warehouse`."""
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise SuppliesError("unknown_warehouse", f"no warehouse {code!r}", where=where)
    return warehouse


@dataclass(frozen=True)
class IntakeLine:
    """One line of a donation as typed: item code, quantity, unit, optional lot and expiry."""

    item_code: str
    quantity: str
    unit: str
    expires_on: date | None = None


def receive_donation(
    session: Session,
    *,
    donor: Donor,
    warehouse: Warehouse,
    lines: Sequence[IntakeLine],
    at: datetime,
    by: str,
    settings: Settings,
    note: str | None = None,
) -> Donation:
    """Book a donation: one lot and one `receive` entry per line, and a receipt number.

    Every line is checked (item, unit, quantity, conversion) before anything is written;
    the first problem raises naming its line and field.
    """
    if not lines:
        raise SuppliesError("missing", "a donation needs at least one line", where="lines")
    factors = factors_from(settings)
    checked: list[tuple[IntakeLine, Item, Decimal, Unit, int]] = []
    for i, line in enumerate(lines, 1):
        where = f"line {i}"
        item = item_by_code(session, line.item_code, where=f"{where}.item")
        unit = rules.parse_unit(line.unit, where=f"{where}.unit")
        quantity = rules.parse_quantity(line.quantity, where=f"{where}.quantity")
        milli = rules.to_stock_milli(
            quantity,
            unit,
            stock_unit=Unit(item.unit),
            oxygen=item.oxygen,
            factors=factors,
            where=f"{where}.unit",
        )
        if item.perishable and line.expires_on is None:
            raise SuppliesError(
                "missing_expiry",
                "food and medicine need an expiry date",
                where=f"{where}.expires_on",
            )
        checked.append((line, item, quantity, unit, milli))
    donation = Donation(
        number=_receipt_number(session, at),
        donor_id=donor.id,
        warehouse_id=warehouse.id,
        received_at=at,
        received_by=by,
        note=note,
    )
    session.add(donation)
    session.flush()
    operation = f"donation:{donation.id}"
    for line, item, quantity, unit, milli in checked:
        dl = DonationLine(
            donation_id=donation.id,
            item_id=item.id,
            given_quantity=format(quantity.normalize(), "f"),
            given_unit=unit.value,
            milli=milli,
        )
        session.add(dl)
        session.flush()
        lot = Lot(
            item_id=item.id,
            code=f"{donation.number}-{dl.id}",
            expires_on=line.expires_on,
            donation_line_id=dl.id,
        )
        session.add(lot)
        session.flush()
        _write(
            session,
            [rules.Move((warehouse.id, item.id, lot.id, Bucket.FREE.value), milli)],
            kind=MoveKind.RECEIVE,
            operation=operation,
            ref=operation,
            at=at,
            by=by,
        )
    return donation


def _receipt_number(session: Session, at: datetime) -> str:
    # JZ (捐赠) + day + a running number per day; a random tail keeps two desks apart.
    day = at.strftime("%Y%m%d")
    count = session.scalar(
        select(func.count()).select_from(Donation).where(Donation.number.like(f"JZ{day}-%"))
    )
    return f"JZ{day}-{(count or 0) + 1:04d}{secrets.choice('ABCDEFGHJKMNPQRSTUVWXYZ')}"


def balances(
    session: Session, *, item_ids: Sequence[int] | None = None, warehouse_id: int | None = None
) -> dict[Position, int]:
    """Return stock on hand per position: the sum of the ledger's entries."""
    q = select(
        StockMove.warehouse_id,
        StockMove.item_id,
        StockMove.lot_id,
        StockMove.bucket,
        func.sum(StockMove.milli),
    ).group_by(StockMove.warehouse_id, StockMove.item_id, StockMove.lot_id, StockMove.bucket)
    if item_ids is not None:
        q = q.where(StockMove.item_id.in_(item_ids))
    if warehouse_id is not None:
        q = q.where(StockMove.warehouse_id == warehouse_id)
    return {(w, i, lot, b): int(total) for w, i, lot, b, total in session.execute(q)}


def _lots_at(
    session: Session, *, warehouse_id: int, item_id: int, bucket: Bucket
) -> list[rules.LotStock]:
    on_hand = balances(session, item_ids=[item_id], warehouse_id=warehouse_id)
    lot_ids = [p[2] for p, q in on_hand.items() if p[3] == bucket.value and q > 0]
    expiry = dict(
        session.execute(select(Lot.id, Lot.expires_on).where(Lot.id.in_(lot_ids))).tuples().all()
    )
    return [
        rules.LotStock(lot_id=p[2], expires_on=expiry.get(p[2]), milli=q)
        for p, q in on_hand.items()
        if p[3] == bucket.value and q > 0
    ]


def pick(
    session: Session,
    *,
    warehouse_id: int,
    item: Item,
    milli: int,
    today: date,
    bucket: Bucket = Bucket.FREE,
) -> list[tuple[int, int]]:
    """Choose lots for `milli` of an item at a warehouse, earliest expiry first."""
    lots = _lots_at(session, warehouse_id=warehouse_id, item_id=item.id, bucket=bucket)
    return rules.fefo_pick(lots, milli, today=today, what=f"{item.name} ({item.code})")


def _write(
    session: Session,
    moves: Sequence[rules.Move],
    *,
    kind: MoveKind,
    operation: str,
    at: datetime,
    by: str,
    ref: str | None = None,
    reason: str | None = None,
) -> None:
    # The one place ledger entries are written: the balances they touch are checked first,
    # under a lock on the items' rows, so two officers issuing the last units of an item at
    # once on PostgreSQL cannot both pass the check (SQLite has one writer anyway).
    positions = {m.position for m in moves}
    item_ids = sorted({p[1] for p in positions})
    session.execute(select(Item.id).where(Item.id.in_(item_ids)).with_for_update())
    current = balances(session, item_ids=sorted({p[1] for p in positions}))
    rules.apply_moves({p: current.get(p, 0) for p in positions}, moves)
    for m in moves:
        warehouse_id, item_id, lot_id, bucket = m.position
        session.add(
            StockMove(
                operation=operation,
                kind=kind.value,
                warehouse_id=warehouse_id,
                item_id=item_id,
                lot_id=lot_id,
                bucket=bucket,
                milli=m.milli,
                ref=ref,
                reason=reason,
                at=at,
                by=by,
            )
        )
    session.flush()


def _quantity_milli(item: Item, quantity: str | int | Decimal, *, where: str) -> int:
    q = rules.parse_quantity(quantity, where=where)
    return int(q * rules.MILLI)


def transfer(
    session: Session,
    *,
    item: Item,
    quantity: str,
    source: Warehouse,
    target: Warehouse,
    at: datetime,
    by: str,
) -> None:
    """Move free stock between warehouses, earliest expiry first, lots kept."""
    if source.id == target.id:
        raise SuppliesError("same_warehouse", "source and target are the same", where="target")
    milli = _quantity_milli(item, quantity, where="quantity")
    picked = pick(session, warehouse_id=source.id, item=item, milli=milli, today=at.date())
    moves = [rules.Move((source.id, item.id, lot, Bucket.FREE.value), -q) for lot, q in picked]
    moves += [rules.Move((target.id, item.id, lot, Bucket.FREE.value), q) for lot, q in picked]
    _write(
        session,
        moves,
        kind=MoveKind.TRANSFER,
        operation=_op("transfer"),
        at=at,
        by=by,
        ref=f"warehouse:{target.id}",
    )


def adjust(
    session: Session,
    *,
    item: Item,
    lot_id: int,
    warehouse: Warehouse,
    delta: str,
    reason: str,
    at: datetime,
    by: str,
) -> None:
    """Correct a lot's free stock by a signed amount after a count; a reason is required."""
    if not reason.strip():
        raise SuppliesError("missing_reason", "an adjustment needs a reason", where="reason")
    try:
        value = Decimal(delta)
    except ArithmeticError:
        raise SuppliesError("bad_quantity", f"not a number: {delta!r}", where="delta") from None
    if value == 0 or not value.is_finite():
        raise SuppliesError("bad_quantity", "an adjustment must change the stock", where="delta")
    move = rules.Move((warehouse.id, item.id, lot_id, Bucket.FREE.value), int(value * rules.MILLI))
    _write(
        session, [move], kind=MoveKind.ADJUST, operation=_op("adjust"), at=at, by=by, reason=reason
    )


def write_off(
    session: Session,
    *,
    item: Item,
    lot_id: int,
    warehouse: Warehouse,
    quantity: str,
    reason: str,
    at: datetime,
    by: str,
) -> None:
    """Remove expired or damaged free stock of a lot (reason: expired, damaged, ...)."""
    if reason not in ("expired", "damaged"):
        raise SuppliesError(
            "bad_reason", f"write-off reason {reason!r}: expired or damaged", where="reason"
        )
    milli = _quantity_milli(item, quantity, where="quantity")
    move = rules.Move((warehouse.id, item.id, lot_id, Bucket.FREE.value), -milli)
    _write(
        session,
        [move],
        kind=MoveKind.WRITE_OFF,
        operation=_op("write_off"),
        at=at,
        by=by,
        reason=reason,
    )


def assemble(
    session: Session,
    *,
    package: Item,
    packages: int,
    warehouse: Warehouse,
    at: datetime,
    by: str,
    expires_on: date | None = None,
) -> Assembly:
    """Assemble N packages: consume components earliest expiry first, add one package lot."""
    if not package.is_package:
        raise SuppliesError("not_a_package", f"{package.code} is not a package", where="package")
    components = [
        rules.Component(item_id=c.item_id, milli=c.milli)
        for c in session.scalars(
            select(PackageComponent).where(PackageComponent.package_item_id == package.id)
        )
    ]
    needs = rules.assembly_needs(components, packages)
    moves: list[rules.Move] = []
    earliest: date | None = expires_on
    for item_id, milli in sorted(needs.items()):
        item = session.get_one(Item, item_id)
        for lot_id, q in pick(
            session, warehouse_id=warehouse.id, item=item, milli=milli, today=at.date()
        ):
            moves.append(rules.Move((warehouse.id, item_id, lot_id, Bucket.FREE.value), -q))
            lot_expiry = session.get_one(Lot, lot_id).expires_on
            if lot_expiry is not None and (earliest is None or lot_expiry < earliest):
                earliest = lot_expiry
    assembly = Assembly(
        package_item_id=package.id, warehouse_id=warehouse.id, packages=packages, at=at, by=by
    )
    session.add(assembly)
    session.flush()
    # A package keeps as long as its shortest-lived component.
    lot = Lot(
        item_id=package.id,
        code=f"ZB{assembly.id:05d}",
        expires_on=earliest,
        assembly_id=assembly.id,
    )
    session.add(lot)
    session.flush()
    moves.append(
        rules.Move((warehouse.id, package.id, lot.id, Bucket.FREE.value), packages * rules.MILLI)
    )
    operation = f"assembly:{assembly.id}"
    _write(session, moves, kind=MoveKind.ASSEMBLE, operation=operation, ref=operation, at=at, by=by)
    return assembly


def allocate_stock(
    session: Session, *, item: Item, warehouse_id: int, milli: int, ref: str, at: datetime, by: str
) -> None:
    """Set free stock aside for a delivery order (free -> allocated), earliest expiry first."""
    picked = pick(session, warehouse_id=warehouse_id, item=item, milli=milli, today=at.date())
    moves = [rules.Move((warehouse_id, item.id, lot, Bucket.FREE.value), -q) for lot, q in picked]
    moves += [
        rules.Move((warehouse_id, item.id, lot, Bucket.ALLOCATED.value), q) for lot, q in picked
    ]
    _write(session, moves, kind=MoveKind.ALLOCATE, operation=ref, ref=ref, at=at, by=by)


def issue_allocated(
    session: Session, *, item_id: int, warehouse_id: int, ref: str, at: datetime, by: str
) -> int:
    """Issue what was allocated under `ref` (a delivered order); return the thousandths."""
    rows = session.execute(
        select(StockMove.lot_id, func.sum(StockMove.milli))
        .where(StockMove.ref == ref, StockMove.bucket == Bucket.ALLOCATED.value)
        .group_by(StockMove.lot_id)
    ).all()
    moves = [
        rules.Move((warehouse_id, item_id, lot_id, Bucket.ALLOCATED.value), -int(q))
        for lot_id, q in rows
        if q
    ]
    if not moves:
        raise SuppliesError("nothing_allocated", f"nothing is allocated to {ref}", where="order")
    _write(session, moves, kind=MoveKind.ISSUE, operation=ref, ref=ref, at=at, by=by)
    return -sum(m.milli for m in moves)


def issue(
    session: Session,
    *,
    item: Item,
    warehouse: Warehouse,
    quantity: str,
    to: str,
    at: datetime,
    by: str,
) -> None:
    """Issue free stock directly (e.g. to an institution collecting it), earliest expiry first."""
    if not to.strip():
        raise SuppliesError("missing", "say who receives the issue", where="to")
    milli = _quantity_milli(item, quantity, where="quantity")
    picked = pick(session, warehouse_id=warehouse.id, item=item, milli=milli, today=at.date())
    moves = [rules.Move((warehouse.id, item.id, lot, Bucket.FREE.value), -q) for lot, q in picked]
    _write(
        session,
        moves,
        kind=MoveKind.ISSUE,
        operation=_op("issue"),
        at=at,
        by=by,
        ref="direct",
        reason=to,
    )


def _op(kind: str) -> str:
    return f"{kind}:{secrets.token_hex(6)}"
