"""Screening tables: the custody ledger (events) and the projections built from it.

`events` is the ledger: every field action is stored once under its client-made id,
accepted or rejected. Every other table here except the set-up tables (rounds, labs, sites,
stations, tube batches) is a projection that the same transaction updates, and that
`rebuild_projections` can recompute from `events` alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tongxin.db import Base, UtcDateTime
from tongxin.privacy.types import EncryptedString


class Round(Base):
    """One area-wide testing campaign with a deadline and a pooling policy by zone."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    # Pooling policy: swabs per tube by zone. Sealed zones take 1 or one household per tube.
    sealed_pooling: Mapped[str] = mapped_column(String(16), default="single")  # single|household
    controlled_pool: Mapped[int] = mapped_column(Integer, default=10)
    precaution_pool: Mapped[int] = mapped_column(Integer, default=20)
    key_group_pool: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RoundArea(Base):
    """A target area of a round with its risk zone (sealed, controlled, precaution)."""

    __tablename__ = "round_areas"
    __table_args__ = (UniqueConstraint("round_id", "area_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    zone: Mapped[str] = mapped_column(String(16))


class Lab(Base):
    """A testing laboratory that receives boxes and reports results per tube."""

    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class RoundLab(Base):
    """A lab a round uses."""

    __tablename__ = "round_labs"
    __table_args__ = (UniqueConstraint("round_id", "lab_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))


class Site(Base):
    """A sampling point of a round, placed in an area."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(16))
    # argon2 hash of the PIN a courier's device sends with a pick-up (None: not set yet).
    handover_pin_hash: Mapped[str | None] = mapped_column(String(200))


class Station(Base):
    """A sampling table within a site; its code is what devices send."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    code: Mapped[str] = mapped_column(String(40), unique=True)


class TubeBatch(Base):
    """A printed batch of pre-issued tube barcodes of one capacity."""

    __tablename__ = "tube_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    capacity: Mapped[int] = mapped_column(Integer)  # 1, 5, 10, 20; 0 = one household per tube
    count: Mapped[int] = mapped_column(Integer)
    first_barcode: Mapped[str] = mapped_column(String(40))
    last_barcode: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Event(Base):
    """One field action, stored exactly once under its client-made id (the ledger)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_round_id_status", "round_id", "status"),)

    # Server order of arrival: rebuilding projections replays in this order.
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    device: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    round_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    # Set on accepted events that a person should still look at, e.g. a duplicate person.
    flag: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str | None] = mapped_column(String(40))
    message_zh: Mapped[str | None] = mapped_column(String(300))
    message_en: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(300))


class Tube(Base):
    """A pre-issued tube and its state (projection of its events)."""

    __tablename__ = "tubes"
    __table_args__ = (
        Index("ix_tubes_round_id_state", "round_id", "state"),
        Index("ix_tubes_box_id", "box_id"),
        # A field device's context lists the tubes used at its site's stations. Partial:
        # issued tubes have no station, and a tube gets one once, when it opens.
        Index(
            "ix_tubes_station_id",
            "station_id",
            sqlite_where=text("station_id IS NOT NULL"),
            postgresql_where=text("station_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("tube_batches.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    # issued -> open -> closed -> boxed -> (sealed box) -> received -> resulted
    state: Mapped[str] = mapped_column(String(16), default="issued")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    station_id: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(Integer)  # for one-household tubes
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(100))  # None = full
    box_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    condition: Mapped[str | None] = mapped_column(String(16))  # good|damaged|leaked|missing
    result: Mapped[str | None] = mapped_column(String(16))  # negative|positive|invalid
    ct: Mapped[float | None] = mapped_column(Float)
    resulted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Swab(Base):
    """One person's swab at a position in a tube (projection of `swab_taken`)."""

    __tablename__ = "swabs"
    __table_args__ = (
        UniqueConstraint("tube_id", "position"),
        Index("ix_swabs_round_id_resident_id", "round_id", "resident_id"),
        # The ledger's duplicate-person check for walk-ins (no resident id) looks them up here.
        # Partial: most swabs are registered residents with no number, and every index entry
        # is paid for on the capture hot path.
        Index(
            "ix_swabs_round_id_id_number_hash",
            "round_id",
            "id_number_hash",
            sqlite_where=text("id_number_hash IS NOT NULL"),
            postgresql_where=text("id_number_hash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The event that made it; the ledger keeps ids unique, so this is not indexed again.
    event_id: Mapped[str] = mapped_column(String(36))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id"))
    position: Mapped[int] = mapped_column(Integer)
    resident_id: Mapped[int | None] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(Integer)
    # Walk-ins not in the registry keep the details they gave.
    # Sealed like residents.id_number; the keyed hash finds a walk-in's earlier swabs.
    id_number: Mapped[str | None] = mapped_column(EncryptedString("swabs.id_number"))
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    station_id: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(64))
    sampler: Mapped[str | None] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duplicate_person: Mapped[bool] = mapped_column(Boolean, default=False)


class Box(Base):
    """A sealed transport box of tubes (projection of `box_sealed`, handovers, receipts)."""

    __tablename__ = "boxes"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    seal_number: Mapped[str] = mapped_column(String(40))
    tube_count: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[int | None] = mapped_column(Integer)
    # sealed -> handed_over -> received
    state: Mapped[str] = mapped_column(String(16))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lab_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Handover(Base):
    """A two-party transfer of boxes (projection of `handover`)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    from_party: Mapped[str] = mapped_column(String(64))
    to_party: Mapped[str] = mapped_column(String(64))
    box_count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class HandoverBox(Base):
    """A box carried in a handover."""

    __tablename__ = "handover_boxes"
    __table_args__ = (UniqueConstraint("handover_id", "box_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"))
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id"), index=True)


class Recall(Base):
    """The follow-up of one member of a positive (or invalid) tube, closed person by person."""

    __tablename__ = "recalls"
    __table_args__ = (
        UniqueConstraint("swab_id"),
        Index("ix_recalls_round_id_state", "round_id", "state"),
        # Recall events name a tube and a position; the ledger loads them by tube.
        Index("ix_recalls_tube_id", "tube_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(Integer)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id"))
    swab_id: Mapped[int] = mapped_column(ForeignKey("swabs.id"))
    resident_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))  # positive | invalid
    # open -> notified -> isolated -> resampled -> resulted -> closed
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    isolated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resampled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retest_barcode: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[str | None] = mapped_column(String(16))
    resulted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class DeviceToken(Base):
    """A field device's bearer token for one round: a site's, a lab's or a courier's.

    A courier token has neither a site nor a lab: it may only record pick-ups from sites
    (with the site's PIN) into its own custody.
    """

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"))
    courier: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
