"""The in-memory projection state a ledger batch decides against (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class RoundInfo:
    """A round's pooling policy and its target areas' zones."""

    id: int
    code: str
    district_id: int
    sealed_pooling: str
    controlled_pool: int
    precaution_pool: int
    key_group_pool: int
    zones: dict[int, str]


@dataclass
class StationInfo:
    """A station, its site and the site's zone."""

    id: int
    code: str
    site_id: int
    round_id: int
    zone: str


@dataclass
class SiteInfo:
    """A site as handovers need it: its code and the hash of its handover PIN."""

    id: int
    round_id: int
    code: str
    pin_hash: str | None


@dataclass
class PersonInfo:
    """A registered resident as pooling and duplicate checks need them."""

    id: int
    household_id: int
    building_id: int
    key_group: bool
    ancestors: tuple[int, ...]


TUBE_FIELDS = (
    "state",
    "member_count",
    "station_id",
    "household_id",
    "opened_at",
    "closed_at",
    "close_reason",
    "box_id",
    "received_at",
    "condition",
    "result",
    "ct",
    "resulted_at",
)


@dataclass
class TubeRow:
    """A tube's projection row, changed in memory and written back once."""

    id: int
    barcode: str
    round_id: int
    district_id: int
    capacity: int
    state: str
    member_count: int
    station_id: int | None
    household_id: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    box_id: int | None
    received_at: datetime | None
    condition: str | None
    result: str | None
    ct: float | None
    resulted_at: datetime | None
    loaded_count: int = 0
    box_key: tuple[int, str] | None = None
    dirty: bool = False


@dataclass
class BoxRow:
    """A box's projection row; `id` is None until a new box is inserted."""

    id: int | None
    round_id: int
    district_id: int
    code: str
    seal_number: str
    tube_count: int
    station_id: int | None
    state: str
    sealed_at: datetime
    handed_over_at: datetime | None = None
    lab_id: int | None = None
    received_at: datetime | None = None
    tubes: list[str] = field(default_factory=list)
    dirty: bool = False
    # Who holds the box: the `to` of its last handover; None while at the site that sealed it.
    # Not a column: loaded from the handovers, kept in memory for the batch.
    holder: str | None = None


@dataclass
class Member:
    """A swab in a tube, as far as results and recalls need it."""

    tube: str
    position: int
    resident_id: int | None
    swab_id: int | None = None


RECALL_FIELDS = (
    "state",
    "notified_at",
    "isolated_at",
    "resampled_at",
    "retest_barcode",
    "result",
    "resulted_at",
    "closed_at",
    "note",
)


@dataclass
class RecallRow:
    """A recall's projection row; `id` is None until a new recall is inserted."""

    id: int | None
    round_id: int
    district_id: int
    tube: str
    position: int
    resident_id: int | None
    reason: str
    state: str
    opened_at: datetime
    due_at: datetime
    notified_at: datetime | None = None
    isolated_at: datetime | None = None
    resampled_at: datetime | None = None
    retest_barcode: str | None = None
    result: str | None = None
    resulted_at: datetime | None = None
    closed_at: datetime | None = None
    note: str | None = None
    dirty: bool = False


@dataclass
class Wants:
    """What a batch names, collected before loading."""

    rounds: set[str] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    labs: set[str] = field(default_factory=set)
    tubes: set[str] = field(default_factory=set)
    boxes: set[str] = field(default_factory=set)
    received_boxes: set[str] = field(default_factory=set)
    resident_codes: set[str] = field(default_factory=set)
    id_numbers: set[tuple[str, str]] = field(default_factory=set)
    result_tubes: set[str] = field(default_factory=set)
    # Tubes whose members the batch needs: a result other than negative recalls every one.
    member_tubes: set[str] = field(default_factory=set)
    recall_tubes: set[str] = field(default_factory=set)
    # Handover parties: site codes, courier codes (device names) and lab codes.
    parties: set[str] = field(default_factory=set)


@dataclass
class State:
    """The in-memory copy of everything a batch may read or change."""

    rounds: dict[str, RoundInfo] = field(default_factory=dict)
    stations: dict[str, StationInfo] = field(default_factory=dict)
    stations_by_id: dict[int, StationInfo] = field(default_factory=dict)
    labs: dict[str, int] = field(default_factory=dict)
    tubes: dict[str, TubeRow] = field(default_factory=dict)
    boxes: dict[tuple[int, str], BoxRow] = field(default_factory=dict)
    by_code: dict[str, PersonInfo] = field(default_factory=dict)
    by_document: dict[tuple[str, str], PersonInfo] = field(default_factory=dict)
    # (round id, "r<resident id>" or "d<id number>") of everyone already swabbed.
    sampled: set[tuple[int, str]] = field(default_factory=set)
    members: dict[str, list[Member]] = field(default_factory=dict)
    # Box id -> the lab that received it, for the boxes of tubes whose results the batch names.
    box_labs: dict[int, int | None] = field(default_factory=dict)
    recalls: dict[tuple[str, int], RecallRow] = field(default_factory=dict)
    sites: dict[tuple[int, str], SiteInfo] = field(default_factory=dict)
    sites_by_id: dict[int, SiteInfo] = field(default_factory=dict)
    # (round id, device name) of the round's couriers with a token not revoked.
    couriers: set[tuple[int, str]] = field(default_factory=set)
    new_swabs: list[dict[str, Any]] = field(default_factory=list)
    new_handovers: list[tuple[dict[str, Any], list[tuple[int, str]]]] = field(default_factory=list)
