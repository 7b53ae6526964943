"""The field-event format (one JSON object per event) and the answers to a capture batch.

This is the wire contract of devices, `POST /api/v1/capture/events` and
`tongxin screening ingest`; docs/api.md documents it with a JSON Schema generated from
`EVENT_ADAPTER`. Add optional fields freely; never rename or drop one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PersonByCode(_Strict):
    """A registered resident, identified by the resident code on their QR."""

    resident_code: str = Field(min_length=1, max_length=12)


class PersonByDocument(_Strict):
    """A person identified by an ID document (registered or a walk-in)."""

    id_number: str = Field(min_length=1, max_length=32)
    id_type: Literal["resident_card", "passport", "other"] = "resident_card"
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)


class _EventBase(_Strict):
    id: str = Field(
        min_length=1, max_length=36, description="Client-made UUID; the event's identity."
    )
    device: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=0, description="The device's own sequence number.")
    at: AwareDatetime = Field(description="Device time with its UTC offset.")
    round: str = Field(min_length=1, max_length=40, description="Round code.")


class SwabTaken(_EventBase):
    type: Literal["swab_taken"]
    station: str = Field(min_length=1, max_length=40)
    person: PersonByCode | PersonByDocument
    tube: str = Field(min_length=1, max_length=40, description="Tube barcode.")
    sampler: str | None = Field(default=None, max_length=64)
    body_site: str = Field(default="oropharynx", max_length=32)
    sample_type: str = Field(default="swab", max_length=32)


class TubeClosed(_EventBase):
    type: Literal["tube_closed"]
    tube: str = Field(min_length=1, max_length=40)
    station: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(
        default=None, max_length=100, description="Why a tube is closed short; null when full."
    )


class BoxSealed(_EventBase):
    type: Literal["box_sealed"]
    box: str = Field(min_length=1, max_length=40)
    tubes: list[str] = Field(min_length=1, max_length=2000)
    count: int = Field(ge=1, description="Tube count written on the box; must equal len(tubes).")
    seal: str = Field(min_length=1, max_length=40, description="Seal number.")
    station: str | None = Field(default=None, max_length=40)


class HandoverEvent(_EventBase):
    type: Literal["handover"]
    boxes: list[str] = Field(min_length=1, max_length=500)
    from_party: str = Field(alias="from", min_length=1, max_length=64)
    to_party: str = Field(alias="to", min_length=1, max_length=64)
    confirmations: list[Literal["from", "to"]] = Field(
        description="Which parties confirmed; a valid handover has both."
    )
    pin: str | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        description="The giving site's handover PIN, typed on a courier's device; the server "
        "checks it (the site's confirmation) and stores it masked.",
    )


Condition = Literal["good", "damaged", "leaked", "missing"]


class BoxReceived(_EventBase):
    type: Literal["box_received"]
    box: str = Field(min_length=1, max_length=40)
    lab: str = Field(min_length=1, max_length=40)
    conditions: dict[str, Condition] = Field(
        default_factory=dict, description="Condition per tube barcode; unlisted tubes are good."
    )


class ResultReported(_EventBase):
    type: Literal["result_reported"]
    tube: str = Field(min_length=1, max_length=40)
    lab: str | None = Field(default=None, max_length=40)
    result: Literal["negative", "positive", "invalid"]
    ct: float | None = Field(default=None, ge=0, le=60)


class _RecallEventBase(_EventBase):
    tube: str = Field(min_length=1, max_length=40, description="The recalled tube's barcode.")
    position: int = Field(ge=1, description="The member's position in that tube.")
    note: str | None = Field(default=None, max_length=300)


class RecallNotified(_RecallEventBase):
    type: Literal["recall_notified"]


class RecallIsolated(_RecallEventBase):
    type: Literal["recall_isolated"]


class RecallResampled(_RecallEventBase):
    type: Literal["recall_resampled"]
    retest_tube: str = Field(min_length=1, max_length=40, description="Single-tube retest barcode.")


class RecallResulted(_RecallEventBase):
    type: Literal["recall_resulted"]
    result: Literal["negative", "positive", "invalid"]


class RecallClosed(_RecallEventBase):
    type: Literal["recall_closed"]


FieldEvent = Annotated[
    SwabTaken
    | TubeClosed
    | BoxSealed
    | HandoverEvent
    | BoxReceived
    | ResultReported
    | RecallNotified
    | RecallIsolated
    | RecallResampled
    | RecallResulted
    | RecallClosed,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[FieldEvent] = TypeAdapter(FieldEvent)

# The same unions without the discriminator, for type annotations of validated events.
AnyRecallEvent = RecallNotified | RecallIsolated | RecallResampled | RecallResulted | RecallClosed
AnyEvent = (
    SwabTaken
    | TubeClosed
    | BoxSealed
    | HandoverEvent
    | BoxReceived
    | ResultReported
    | AnyRecallEvent
)

EVENT_TYPES: tuple[str, ...] = (
    "swab_taken",
    "tube_closed",
    "box_sealed",
    "handover",
    "box_received",
    "result_reported",
    "recall_notified",
    "recall_isolated",
    "recall_resampled",
    "recall_resulted",
    "recall_closed",
)


class EventAnswer(BaseModel):
    """The server's answer to one event of a batch."""

    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None
    message_en: str | None = None
    flag: str | None = None


class CaptureAnswer(BaseModel):
    """The answer to a capture batch: one entry per event, in the order sent."""

    results: list[EventAnswer]
    received_at: datetime


class StoredEvent(EventAnswer):
    """What the server holds under an event id, for a device checking an unanswered send."""

    received_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
