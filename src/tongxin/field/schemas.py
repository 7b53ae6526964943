"""The device context: what a field device needs to apply the ledger's rules offline.

Served by `GET /api/v1/field/context` to a device token. Names are masked; no ID number or
phone number is ever part of it (docs/security.md, "Field devices").
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RoundContext(BaseModel):
    """The round the token is scoped to and its pooling policy."""

    code: str
    name: str
    deadline: datetime
    sealed_pooling: str
    controlled_pool: int
    precaution_pool: int
    key_group_pool: int


class SiteContext(BaseModel):
    """The token's sampling site; walk-ins are pooled by the site's zone."""

    code: str
    name: str
    zone: str
    walk_in_capacity: int = Field(description="Capacity for a person the device cannot look up.")
    stations: list[str]


class TubeBatchContext(BaseModel):
    """A printed batch of barcodes issued for the round (inclusive range, one capacity)."""

    first: str
    last: str
    capacity: int


class TubeContext(BaseModel):
    """A tube already used at this site: its fill and state."""

    barcode: str
    capacity: int
    state: str
    fill: int
    reason: str | None = None


class BoxContext(BaseModel):
    """A box sealed at this site."""

    code: str
    state: str
    count: int


class ResidentContext(BaseModel):
    """A resident the site serves: code, masked name and the capacity that applies."""

    code: str
    name: str
    capacity: int
    sampled: bool = Field(description="Already swabbed in this round (a second swab is flagged).")


class DeviceContext(BaseModel):
    """Everything a device caches to work offline; refreshed whenever it is online."""

    device: str
    round: RoundContext
    site: SiteContext | None
    lab: str | None
    # A courier's token: neither site nor lab (decision 0009); the device opens the courier screen.
    courier: bool = False
    tube_batches: list[TubeBatchContext]
    tubes: list[TubeContext]
    boxes: list[BoxContext]
    residents: list[ResidentContext]
    residents_truncated: bool
    generated_at: datetime
