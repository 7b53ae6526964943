"""Plant the four faults of the planted-faults check into a valid simulated stream.

Pure, like `tongxin.screening.simulate`: an 11th swab in a full tube, a batch sent twice, a
box whose receipt never comes, and a result for a tube never issued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from tongxin.screening.rules import tube_barcode
from tongxin.screening.simulate import (
    RECALL_STEPS,
    Event,
    SimulationError,
    new_id,
    number_by_device,
    walk_ins,
)


@dataclass(frozen=True)
class PlantedFaults:
    """The four faults of the planted-faults check, as planted."""

    overfilled_tube: str
    overfill_event: str  # id of the 11th swab
    replayed: list[str]  # ids sent a second time
    unreceived_box: str
    unreceived_tubes: list[str]
    unknown_tube: str
    unknown_result_event: str

    @property
    def rejected(self) -> set[str]:
        """Ids of the events the ledger must reject."""
        return {self.overfill_event, self.unknown_result_event}


def plant_faults(
    events: Sequence[Event], rng: Random, *, capacity: int = 10, replay: int = 20
) -> tuple[list[Event], PlantedFaults]:
    """Return a copy of a valid stream with four faults planted, and what was planted.

    The faults: an extra swab in a full tube of `capacity`, a batch of `replay` events sent a
    second time, a box whose receipt (and so its tubes' results and recalls) never arrives,
    and a result for a tube that was never issued. Device sequence numbers are renumbered
    after planting, as the faulty devices would have numbered them.
    """
    stream = [dict(e) for e in events]
    swabs: dict[str, list[int]] = defaultdict(list)
    closed_full: set[str] = set()
    box_tubes: dict[str, list[str]] = {}
    for i, e in enumerate(stream):
        if e["type"] == "swab_taken":
            swabs[e["tube"]].append(i)
        elif e["type"] == "tube_closed" and e.get("reason") is None:
            closed_full.add(e["tube"])
        elif e["type"] == "box_sealed":
            box_tubes[e["box"]] = list(e["tubes"])
    boxes = list(box_tubes)
    if len(boxes) < 2:
        raise SimulationError("planting faults needs a stream with at least two boxes")
    lost_box = boxes[len(boxes) // 2]
    lost_tubes = set(box_tubes[lost_box])
    full = [t for t in closed_full if len(swabs[t]) == capacity and t not in lost_tubes]
    if not full:
        raise SimulationError(f"no full tube of {capacity} outside the lost box")
    overfilled = sorted(full)[0]

    # A box never received: its receipt, results and recalls never come.
    def lost(e: Event) -> bool:
        if e["type"] == "box_received":
            return bool(e["box"] == lost_box)
        return e["type"] in ("result_reported", *dict(RECALL_STEPS)) and e["tube"] in lost_tubes

    last_swab = stream[swabs[overfilled][-1]]
    extra = dict(last_swab)
    extra.update(id=new_id(rng), person=walk_ins(Random(rng.random()), 1, region="110102")[0])
    stream.insert(swabs[overfilled][-1] + 1, extra)
    stream = [e for e in stream if not lost(e)]

    results = [i for i, e in enumerate(stream) if e["type"] == "result_reported"]
    anchor = stream[results[len(results) // 2]]
    unknown_tube = tube_barcode(9_000_000_000 + rng.randrange(10**8))
    unknown = dict(anchor)
    unknown.update(id=new_id(rng), tube=unknown_tube, result="negative", ct=None)
    stream.insert(results[len(results) // 2] + 1, unknown)
    number_by_device(stream)

    planted = {extra["id"], unknown["id"]}
    starts = [
        i
        for i in range(len(stream) - replay)
        if not any(e["id"] in planted for e in stream[i : i + replay])
    ]
    start = starts[rng.randrange(len(starts))]
    copies = [dict(e) for e in stream[start : start + replay]]
    # The device resends the batch a little later, after a few more of its events went out.
    resend_at = min(len(stream), start + replay + replay // 2)
    stream[resend_at:resend_at] = copies
    return stream, PlantedFaults(
        overfilled_tube=overfilled,
        overfill_event=extra["id"],
        replayed=[e["id"] for e in copies],
        unreceived_box=lost_box,
        unreceived_tubes=sorted(lost_tubes),
        unknown_tube=unknown_tube,
        unknown_result_event=unknown["id"],
    )
