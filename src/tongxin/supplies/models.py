"""Supplies tables: donors, donations, items and lots, warehouses, the stock ledger, packages,
recipients, allocations and delivery orders.

Stock is never stored as a number to update: `stock_moves` is the ledger and stock on hand
is the sum of its entries per (warehouse, item, lot, bucket). Quantities are integer
thousandths of the item's stock unit (see supplies.rules).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime


class Donor(Base):
    """An enterprise, organisation or individual who gave supplies."""

    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # enterprise | organisation | individual
    contact_name: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))


class Warehouse(Base):
    """A warehouse or depot that holds stock; depots are where vehicles start and end."""

    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="warehouse")  # warehouse | depot
    address: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Item(Base):
    """Something kept in stock, in one stock unit; a package item is defined by components."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(8))
    # Grams one stock unit weighs, for delivery weights (1000 for kg items).
    unit_weight_g: Mapped[int] = mapped_column(Integer, default=0)
    # Food and medicine keep lots with expiry dates and are issued earliest expiry first.
    perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Oxygen kept as gas m³ converts from liquid tonnes and bottles (settings).
    oxygen: Mapped[bool] = mapped_column(Boolean, default=False)
    is_package: Mapped[bool] = mapped_column(Boolean, default=False)


class PackageComponent(Base):
    """One line of a package definition: `milli` thousandths of an item per package."""

    __tablename__ = "package_components"
    __table_args__ = (UniqueConstraint("package_item_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    milli: Mapped[int] = mapped_column(BigInteger)


class Lot(Base):
    """A lot of an item: what one donation line or one assembly brought in, with expiry."""

    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[date | None] = mapped_column(Date)
    donation_line_id: Mapped[int | None] = mapped_column(Integer, index=True)
    assembly_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Donation(Base):
    """One intake of donated supplies; its number is on the receipt."""

    __tablename__ = "donations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))


class DonationLine(Base):
    """An item of a donation, as given (quantity and unit) and as stocked (thousandths)."""

    __tablename__ = "donation_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    given_quantity: Mapped[str] = mapped_column(String(30))
    given_unit: Mapped[str] = mapped_column(String(8))
    milli: Mapped[int] = mapped_column(BigInteger)


class Assembly(Base):
    """Assembling N packages at a warehouse: components out, one package lot in."""

    __tablename__ = "assemblies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    packages: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(64))


class StockMove(Base):
    """One ledger entry: a signed quantity of a lot at a warehouse bucket, and why."""

    __tablename__ = "stock_moves"
    __table_args__ = (
        Index("ix_stock_moves_position", "warehouse_id", "item_id", "lot_id", "bucket"),
        Index("ix_stock_moves_lot_id", "lot_id"),
        Index("ix_stock_moves_ref", "ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))  # moves of one operation share it
    kind: Mapped[str] = mapped_column(String(16))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    bucket: Mapped[str] = mapped_column(String(12))
    milli: Mapped[int] = mapped_column(BigInteger)
    # What the move belongs to: "donation:3", "assembly:2", "order:17", "transfer", ...
    ref: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(64))


class Recipient(Base):
    """Who receives supplies: a household of the registry, or an institution."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # household | school | elderly_home | community
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    household_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    district_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(200))
    people: Mapped[int] = mapped_column(Integer, default=1)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Allocation(Base):
    """An allocation plan: so many packages (or units) of one item to a list of recipients."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    delivery_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class DeliveryOrder(Base):
    """Bring so much of an item to one recipient, in a time window, with an urgency."""

    __tablename__ = "delivery_orders"
    __table_args__ = (Index("ix_delivery_orders_date_status", "delivery_date", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    milli: Mapped[int] = mapped_column(BigInteger)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    delivery_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())
    window_end: Mapped[datetime] = mapped_column(UtcDateTime())
    urgency: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|planned|delivered
    # The recipient tells the driver this PIN; it is printed on the allocation list.
    pin: Mapped[str] = mapped_column(String(8))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    proof_kind: Mapped[str | None] = mapped_column(String(12))  # pin | signature
    signature_svg: Mapped[str | None] = mapped_column(Text)
