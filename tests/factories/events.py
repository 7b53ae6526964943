"""Field events as devices send them (plain JSON-shaped dicts), for ledger tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.factories.screening import ROUND_START


class Device:
    """A field device that numbers its events and stamps them a minute apart."""

    def __init__(self, name: str = "pad-1", round_code: str = "R1") -> None:
        self.name = name
        self.round = round_code
        self._seq = itertools.count(1)
        self._clock = itertools.count(1)

    def at(self) -> datetime:
        """Return the next device time."""
        return ROUND_START + timedelta(minutes=next(self._clock))

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Make one event of this device."""
        return {
            "id": str(uuid.uuid4()),
            "device": self.name,
            "seq": next(self._seq),
            "type": type_,
            "at": self.at().isoformat(),
            "round": self.round,
            **fields,
        }

    def swab(self, station: str, tube: str, code: str | None = None, **person: Any) -> dict:
        """A `swab_taken` of a resident code, or of ID details when no code is given."""
        who = {"resident_code": code} if code is not None else person
        return self.event("swab_taken", station=station, tube=tube, person=who)

    def close(self, tube: str, reason: str | None = None) -> dict:
        """A `tube_closed`."""
        return self.event("tube_closed", tube=tube, reason=reason)

    def seal(self, box: str, tubes: list[str], count: int | None = None) -> dict:
        """A `box_sealed` whose count is the number of tubes unless given."""
        return self.event(
            "box_sealed",
            box=box,
            tubes=tubes,
            count=len(tubes) if count is None else count,
            seal=f"SEAL-{box}",
        )

    def handover(self, boxes: list[str], confirmations: tuple[str, ...] = ("from", "to")) -> dict:
        """A `handover` from the site to a courier."""
        return self.event(
            "handover",
            boxes=boxes,
            **{"from": "S1", "to": "courier-1"},
            confirmations=list(confirmations),
        )

    def receive(self, box: str, lab: str = "LAB1", **conditions: str) -> dict:
        """A `box_received` at a lab."""
        return self.event("box_received", box=box, lab=lab, conditions=conditions)

    def result(self, tube: str, result: str, lab: str = "LAB1", ct: float | None = None) -> dict:
        """A `result_reported`."""
        return self.event("result_reported", tube=tube, result=result, lab=lab, ct=ct)

    def recall(self, step: str, tube: str, position: int, **fields: Any) -> dict:
        """A `recall_<step>` event for the member at `position` of `tube`."""
        return self.event(f"recall_{step}", tube=tube, position=position, **fields)
