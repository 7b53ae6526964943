"""Supplies reads: stock on hand from the ledger, and the donor report (given -> where it went).

The donor report follows each donated lot through the ledger: what is still in stock, what
was written off or issued, and what went into packages; a package lot's deliveries are
credited back to the lots it was made of in proportion to what each put in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongxin.supplies.models import (
    Assembly,
    DeliveryOrder,
    Donation,
    DonationLine,
    Donor,
    Item,
    Lot,
    StockMove,
    Warehouse,
)
from tongxin.supplies.rules import MILLI, MoveKind, show_milli


@dataclass(frozen=True)
class StockRow:
    """Stock of one lot of an item at a warehouse."""

    warehouse: str
    item_code: str
    item: str
    unit: str
    lot: str
    expires_on: date | None
    free_milli: int
    allocated_milli: int

    def as_dict(self) -> dict[str, object]:
        """Return the row for JSON and xlsx."""
        return {
            "warehouse": self.warehouse,
            "item_code": self.item_code,
            "item": self.item,
            "unit": self.unit,
            "lot": self.lot,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "free": show_milli(self.free_milli),
            "allocated": show_milli(self.allocated_milli),
        }


def stock_on_hand(session: Session) -> list[StockRow]:
    """Return every lot with stock, per warehouse, summed from the ledger."""
    totals = (
        select(
            StockMove.warehouse_id,
            StockMove.lot_id,
            StockMove.bucket,
            func.sum(StockMove.milli).label("milli"),
        )
        .group_by(StockMove.warehouse_id, StockMove.lot_id, StockMove.bucket)
        .subquery()
    )
    rows = session.execute(
        select(
            Warehouse.code,
            Item.code,
            Item.name,
            Item.unit,
            Lot.code,
            Lot.expires_on,
            totals.c.bucket,
            totals.c.milli,
        )
        .join(Warehouse, Warehouse.id == totals.c.warehouse_id)
        .join(Lot, Lot.id == totals.c.lot_id)
        .join(Item, Item.id == Lot.item_id)
        .order_by(Warehouse.code, Item.code, Lot.expires_on, Lot.code)
    ).all()
    merged: dict[tuple[str, str, str], StockRow] = {}
    for w, code, name, unit, lot, expires, bucket, milli in rows:
        key = (w, code, lot)
        row = merged.get(key) or StockRow(w, code, name, unit, lot, expires, 0, 0)
        if bucket == "allocated":
            row = replace(row, allocated_milli=int(milli))
        else:
            row = replace(row, free_milli=int(milli))
        merged[key] = row
    return [r for r in merged.values() if r.free_milli or r.allocated_milli]


def item_totals(session: Session) -> dict[str, int]:
    """Return stock on hand (free and allocated) per item code, in thousandths."""
    rows = session.execute(
        select(Item.code, func.sum(StockMove.milli))
        .join(Item, Item.id == StockMove.item_id)
        .group_by(Item.code)
    ).all()
    return {code: int(total) for code, total in rows}


@dataclass
class LineFate:
    """Where one donated line went, in thousandths of its item's stock unit (and grams)."""

    item_code: str
    item: str
    unit: str
    given: str
    received_milli: int
    in_stock_milli: int = 0
    written_off_milli: int = 0
    adjusted_milli: int = 0
    issued_direct_milli: int = 0
    delivered_milli: int = 0  # delivered on its own, through delivery orders
    in_packages_milli: int = 0
    delivered_in_packages_milli: int = 0
    recipients: set[int] = field(default_factory=set)
    unit_weight_g: int = 0

    def as_dict(self) -> dict[str, object]:
        """Return the line for JSON, xlsx and the page."""
        delivered = self.delivered_milli + self.delivered_in_packages_milli
        return {
            "item_code": self.item_code,
            "item": self.item,
            "unit": self.unit,
            "given": self.given,
            "received": show_milli(self.received_milli),
            "in_stock": show_milli(self.in_stock_milli),
            "written_off": show_milli(self.written_off_milli),
            "adjusted": show_milli(self.adjusted_milli),
            "issued_direct": show_milli(self.issued_direct_milli),
            "in_packages": show_milli(self.in_packages_milli),
            "delivered": show_milli(delivered),
            "delivered_kg": show_milli(delivered * self.unit_weight_g // 1000),
            "recipients": len(self.recipients),
        }


def donor_report(session: Session, donor: Donor) -> dict[str, Any]:
    """Report what a donor gave and where each line went, to the recipient count."""
    lines = session.execute(
        select(DonationLine, Donation.number, Item, Lot.id)
        .join(Donation, Donation.id == DonationLine.donation_id)
        .join(Item, Item.id == DonationLine.item_id)
        .join(Lot, Lot.donation_line_id == DonationLine.id)
        .where(Donation.donor_id == donor.id)
        .order_by(Donation.id, DonationLine.id)
    ).all()
    fates: list[tuple[str, LineFate]] = []
    for line, number, item, lot_id in lines:
        fate = LineFate(
            item_code=item.code,
            item=item.name,
            unit=item.unit,
            given=f"{line.given_quantity} {line.given_unit}",
            received_milli=line.milli,
            unit_weight_g=item.unit_weight_g,
        )
        _follow_lot(session, lot_id, fate)
        fates.append((number, fate))
    delivered_g = sum(
        (f.delivered_milli + f.delivered_in_packages_milli) * f.unit_weight_g // MILLI
        for _, f in fates
    )
    recipients: set[int] = set().union(*(f.recipients for _, f in fates)) if fates else set()
    return {
        "donor": donor.name,
        "kind": donor.kind,
        "lines": [{"donation": number, **f.as_dict()} for number, f in fates],
        "delivered_kg": show_milli(delivered_g),
        "recipients": len(recipients),
    }


def _follow_lot(session: Session, lot_id: int, fate: LineFate) -> None:
    moves = session.execute(
        select(StockMove.kind, StockMove.ref, StockMove.milli).where(StockMove.lot_id == lot_id)
    ).all()
    for kind, ref, milli in moves:
        fate.in_stock_milli += milli
        if kind == MoveKind.WRITE_OFF:
            fate.written_off_milli -= milli
        elif kind == MoveKind.ADJUST:
            fate.adjusted_milli += milli
        elif kind == MoveKind.ISSUE and ref == "direct":
            fate.issued_direct_milli -= milli
        elif kind == MoveKind.ISSUE and ref and ref.startswith("order:"):
            fate.delivered_milli -= milli
            fate.recipients |= _recipients_of([ref])
        elif kind == MoveKind.ASSEMBLE and milli < 0 and ref:
            fate.in_packages_milli -= milli
            assembly_id = int(ref.split(":", 1)[1])
            share, recipients = _package_deliveries(session, assembly_id)
            fate.delivered_in_packages_milli += -milli * share[0] // share[1]
            fate.recipients |= recipients


def _package_deliveries(session: Session, assembly_id: int) -> tuple[tuple[int, int], set[int]]:
    # (packages delivered, packages made) of an assembly's lot, and who got them.
    assembly = session.get_one(Assembly, assembly_id)
    lot_id = session.scalar(select(Lot.id).where(Lot.assembly_id == assembly_id))
    rows = session.execute(
        select(StockMove.ref, StockMove.milli).where(
            StockMove.lot_id == lot_id, StockMove.kind == MoveKind.ISSUE.value
        )
    ).all()
    delivered = -sum(m for _, m in rows)
    refs = [r for r, _ in rows if r and r.startswith("order:")]
    return (delivered, assembly.packages * MILLI), _recipients_of(refs)


def _recipients_of(refs: list[str]) -> set[int]:
    return {int(r.split(":", 1)[1]) for r in refs}


def delivered_weight_g(session: Session, day: date | None = None) -> int:
    """Return the grams delivered through delivery orders (optionally on one day)."""
    q = select(func.coalesce(func.sum(DeliveryOrder.weight_g), 0)).where(
        DeliveryOrder.status == "delivered"
    )
    if day is not None:
        q = q.where(DeliveryOrder.delivery_date == day)
    return int(session.scalar(q) or 0)
