"""Logistics tables: drivers, vehicles, and planned trips with their stops."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime


class Driver(Base):
    """A volunteer driver; `user_id` links the account that opens their trips on a phone."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)


class Vehicle(Base):
    """A (private) vehicle of the fleet: capacity, seats, home depot, hours it is available."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate: Mapped[str] = mapped_column(String(20), unique=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    capacity_kg: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer, default=4)
    # Local (China) wall-clock hours the driver can drive, every day.
    available_from: Mapped[time] = mapped_column(Time)
    available_to: Mapped[time] = mapped_column(Time)


class Trip(Base):
    """One planned round trip of a vehicle from its depot, for supplies or samples."""

    __tablename__ = "trips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(12), default="supplies")  # supplies | samples
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    distance_m: Mapped[int] = mapped_column(BigInteger)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(12), default="planned")  # planned | done


class TripStop(Base):
    """A stop of a trip in driving order, with its ETA and the order it delivers."""

    __tablename__ = "trip_stops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    delivery_order_id: Mapped[int] = mapped_column(ForeignKey("delivery_orders.id"), unique=True)
    eta: Mapped[datetime] = mapped_column(UtcDateTime())
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
