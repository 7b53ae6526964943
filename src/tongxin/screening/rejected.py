"""Rejected events still waiting for a person: the queue page and reconciliation read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.privacy.crypto import KeyRing
from tongxin.privacy.service import key_ring, open_payload
from tongxin.screening.mismatches import Mismatch, entry, mask_id_number, mask_name
from tongxin.screening.models import Event


@dataclass(frozen=True)
class RejectedEvent:
    """A rejected event still waiting for a person to resolve it."""

    id: str
    type: str
    code: str
    message_zh: str
    message_en: str
    device: str
    at: datetime
    received_at: datetime
    payload: dict[str, Any]


def _as_item(ring: KeyRing, e: Event) -> RejectedEvent:
    return RejectedEvent(
        id=e.id,
        type=e.type,
        code=e.code or e.flag or "",
        message_zh=e.message_zh or "",
        message_en=e.message_en or "",
        device=e.device,
        at=e.at,
        received_at=e.received_at,
        payload=open_payload(ring, e.payload or {}),
    )


def unresolved_rejected(session: Session, *, round_id: int) -> list[RejectedEvent]:
    """Return the round's rejected events that nobody has resolved yet, oldest first."""
    ring = key_ring(session)
    return [
        _as_item(ring, e)
        for e in session.scalars(
            select(Event)
            .where(
                Event.round_id == round_id,
                Event.status == "rejected",
                Event.resolved_at.is_(None),
            )
            .order_by(Event.number)
        )
    ]


def unresolved_flagged(session: Session, *, round_id: int, limit: int = 200) -> list[RejectedEvent]:
    """Return accepted events flagged for a person to check (e.g. a duplicate person)."""
    ring = key_ring(session)
    return [
        _as_item(ring, e)
        for e in session.scalars(
            select(Event)
            .where(
                Event.round_id == round_id,
                Event.status == "accepted",
                Event.flag.is_not(None),
                Event.resolved_at.is_(None),
            )
            .order_by(Event.number)
            .limit(limit)
        )
    ]


def rejected_mismatch(event: RejectedEvent) -> Mismatch:
    """Turn a rejected event into a mismatch entry naming its tubes, boxes and person."""
    payload = event.payload
    tubes = [str(payload["tube"])] if isinstance(payload.get("tube"), str) else []
    if isinstance(payload.get("tubes"), list):
        tubes += [str(t) for t in payload["tubes"]]
    boxes = [str(payload["box"])] if isinstance(payload.get("box"), str) else []
    if isinstance(payload.get("boxes"), list):
        boxes += [str(b) for b in payload["boxes"]]
    person = payload.get("person") if isinstance(payload.get("person"), dict) else None
    people = []
    if person:
        people.append(
            {
                "resident_code": person.get("resident_code"),
                "name": mask_name(person.get("name")),
                "id_number": mask_id_number(person.get("id_number")),
            }
        )
    place: dict[str, str | None] = {
        "site": None,
        "station": payload.get("station") if isinstance(payload.get("station"), str) else None,
        "lab": payload.get("lab") if isinstance(payload.get("lab"), str) else None,
    }
    return entry(
        "rejected_event",
        place,
        tubes=tubes,
        boxes=boxes,
        people=people,
        detail={
            "event": event.id,
            "type": event.type,
            "event_code": event.code,
            "device": event.device,
            "reason_zh": event.message_zh,
            "reason_en": event.message_en,
        },
        event_code=event.code,
    )
