"""Donation receipts: what was received, as given and as stocked, with a QR of the number.

The QR holds only the receipt number (no personal data); scanning it at the desk opens the
donation, and the donor report is reached from there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.supplies.models import Donation, DonationLine, Donor, Item, Warehouse
from tongxin.supplies.rules import show_milli


@dataclass(frozen=True)
class ReceiptLine:
    """A received line: the item, what the donor gave, and what went into stock."""

    item: str
    given: str
    stocked: str
    unit: str


@dataclass(frozen=True)
class Receipt:
    """A donation receipt for the page, the printout and the CLI."""

    number: str
    donor: str
    warehouse: str
    received_at: str
    lines: list[ReceiptLine]
    qr_svg: Markup


def qr_svg(text: str) -> Markup:
    """Return an inline SVG QR code of `text` (full QR, medium error correction)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return Markup(out.getvalue().decode("utf-8"))


def receipt(session: Session, donation: Donation) -> Receipt:
    """Return the receipt of a donation."""
    donor = session.get_one(Donor, donation.donor_id)
    warehouse = session.get_one(Warehouse, donation.warehouse_id)
    rows = session.execute(
        select(DonationLine, Item)
        .join(Item, Item.id == DonationLine.item_id)
        .where(DonationLine.donation_id == donation.id)
        .order_by(DonationLine.id)
    ).all()
    return Receipt(
        number=donation.number,
        donor=donor.name,
        warehouse=warehouse.name,
        received_at=donation.received_at.isoformat(timespec="minutes"),
        lines=[
            ReceiptLine(
                item.name,
                f"{line.given_quantity} {line.given_unit}",
                show_milli(line.milli),
                item.unit,
            )
            for line, item in rows
        ],
        qr_svg=qr_svg(f"TONGXIN-DONATION:{donation.number}"),
    )


def receipt_svg(session: Session, donation: Donation) -> str:
    """Return the receipt's QR code as an SVG document (the CLI writes it next to the text)."""
    return str(receipt(session, donation).qr_svg)
