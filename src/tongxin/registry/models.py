"""Registry tables: areas, households, residents and residence history.

Households and residents carry the ids of their ancestor areas. That copy is deliberate: a
list of a community's residents, or a count per street, is then one indexed range, and
every large table carries `district_id` so a sharded PostgreSQL can split by district.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base
from tongxin.privacy.types import EncryptedString


class Area(Base):
    """A node of the area tree: district, street, community, compound, building or unit."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # Ancestor ids (self included at its own level), so a subtree is an equality filter.
    district_id: Mapped[int | None] = mapped_column(Integer)
    street_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer)
    compound_id: Mapped[int | None] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Household(Base):
    """A household: the room people actually live in, inside a unit or a building."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("area_id", "room"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    room: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int] = mapped_column(Integer)
    street_id: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int] = mapped_column(Integer)
    compound_id: Mapped[int] = mapped_column(Integer)
    building_id: Mapped[int] = mapped_column(Integer, index=True)


class Resident(Base):
    """A person living in the district."""

    __tablename__ = "residents"
    __table_args__ = (
        # The two unique keys are indexes, not table constraints, so that a bulk load can
        # build them after its rows (docs/decisions/0017). ID numbers are sealed with random
        # nonces, so uniqueness and lookups use the keyed hash.
        Index("uq_residents_resident_code", "resident_code", unique=True),
        Index("uq_residents_id_type_id_number_hash", "id_type", "id_number_hash", unique=True),
        Index("ix_residents_community_id_id", "community_id", "id"),
        Index("ix_residents_building_id_id", "building_id", "id"),
        Index("ix_residents_street_id_id", "street_id", "id"),
        Index("ix_residents_district_id_id", "district_id", "id"),
        Index("ix_residents_phone_tail", "phone_tail"),
        Index("ix_residents_id_tail", "id_tail"),
        Index("ix_residents_name", "name"),
        Index("ix_residents_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(60))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_tail: Mapped[str | None] = mapped_column(String(4))
    id_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(EncryptedString("residents.id_number"))
    id_number_hash: Mapped[str] = mapped_column(String(64))
    id_tail: Mapped[str] = mapped_column(String(4))
    registered_address: Mapped[str | None] = mapped_column(String(200))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    street_id: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int] = mapped_column(Integer)
    compound_id: Mapped[int] = mapped_column(Integer)
    building_id: Mapped[int] = mapped_column(Integer)
    bedridden: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    key_group: Mapped[bool] = mapped_column(Boolean, default=False)
    no_smartphone: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="present")
    status_since: Mapped[date | None] = mapped_column(Date)


class Residence(Base):
    """One stay of a resident in a household; moving closes one and opens the next."""

    __tablename__ = "residences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    moved_in: Mapped[date | None] = mapped_column(Date)
    moved_out: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
