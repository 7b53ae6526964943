"""A round whose boxes reached the lab, built through the ledger with hand-made events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.screening import ROUND_START, RoundSetup, build_round
from tongxin.registry.models import Resident
from tongxin.screening.ledger import ingest_events


@dataclass
class LabRound:
    """The round set-up, the tubes received by LAB1 and who is in each."""

    setup: RoundSetup
    received: list[str]  # barcodes of tubes in received boxes
    members: dict[str, list[str]]  # barcode -> resident codes in position order
    walk_in_tube: str


class _Events:
    def __init__(self) -> None:
        self.seq = 0
        self.events: list[dict[str, Any]] = []

    def add(self, type_: str, minutes: int, **fields: Any) -> None:
        self.seq += 1
        self.events.append(
            {
                "id": str(uuid.uuid4()),
                "device": "pad-1",
                "seq": self.seq,
                "type": type_,
                "at": (ROUND_START + timedelta(minutes=minutes)).isoformat(),
                "round": "R1",
                **fields,
            }
        )


def build_lab_round(session: Session) -> LabRound:
    """Swab 12 residents into two 10:1 tubes and a walk-in alone in a third; box, hand over
    and receive them at LAB1; one more tube is swabbed and boxed but never handed over."""
    setup = build_round(session, residents=14)
    codes = session.scalars(select(Resident.resident_code).order_by(Resident.id)).all()
    station = setup.stations[0].code
    ev = _Events()
    plan = {setup.tubes10[0]: codes[:10], setup.tubes10[1]: codes[10:12]}
    minute = 0
    for tube, people in plan.items():
        for code in people:
            minute += 1
            ev.add("swab_taken", minute, station=station, tube=tube,
                   person={"resident_code": code})  # fmt: skip
    # A walk-in alone in a 10:1 tube closed short: a one-member tube.
    walk_in = setup.tubes10[3]
    person = {"id_number": "11010519491231002X", "name": "王芳", "phone": "13912345678"}
    ev.add("swab_taken", minute + 1, station=station, tube=walk_in, person=person)
    ev.add("swab_taken", minute + 2, station=station, tube=setup.tubes10[2],
           person={"resident_code": codes[12]})  # fmt: skip
    ev.add("tube_closed", 30, tube=setup.tubes10[0], station=station)
    ev.add("tube_closed", 31, tube=setup.tubes10[1], station=station, reason="班次结束")
    ev.add("tube_closed", 32, tube=walk_in, station=station, reason="班次结束")
    ev.add("tube_closed", 33, tube=setup.tubes10[2], station=station, reason="班次结束")
    received = [setup.tubes10[0], setup.tubes10[1], walk_in]
    ev.add("box_sealed", 40, box="B1", tubes=received, count=3, seal="SEAL-1", station=station)
    ev.add("box_sealed", 41, box="B2", tubes=[setup.tubes10[2]], count=1, seal="SEAL-2",
           station=station)  # fmt: skip
    ev.add("handover", 50, boxes=["B1"], confirmations=["from", "to"],
           **{"from": "pad-1", "to": "courier-1"})  # fmt: skip
    ev.add("box_received", 90, box="B1", lab="LAB1", conditions={})
    answers = ingest_events(session, events=ev.events, received_at=ROUND_START + timedelta(hours=2))
    assert [a.status for a in answers] == ["accepted"] * len(ev.events), answers
    return LabRound(
        setup=setup,
        received=received,
        members={t: list(p) for t, p in plan.items()},
        walk_in_tube=walk_in,
    )
