"""Simulate a testing round as a stream of field events (what its devices would send).

Pure: no database, no clock, no I/O. The caller reads the round's set-up (stations, tube
barcodes, people, lab) and passes a seeded `random.Random`; the same facts and seed give the
same stream, byte for byte. Every event is a dict in the wire format of
`tongxin.screening.schemas` (what a device would send), with device sequence numbers in
device-time order and `at` in China time (+08:00).

Used by the planted-faults and crash tests and by `tongxin bench ingest|city`;
`tongxin.screening.simulate_faults` plants known faults into a stream.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from random import Random
from typing import Any

from tongxin.registry.rules import Gender, make_resident_id

CHINA = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2022, 9, 23, 8, 0, tzinfo=CHINA)
# Visitors' ID numbers use a Beijing region code so they never collide with Baiyun residents.
WALK_IN_REGION = "110101"
SHORT_REASON = "采样结束"

Event = dict[str, Any]
Person = dict[str, str]

# The stage of each event type, in the order a round goes through them.
STAGES: dict[str, str] = {
    "swab_taken": "swabs",
    "tube_closed": "swabs",
    "box_sealed": "boxes",
    "handover": "boxes",
    "box_received": "receipts",
    "result_reported": "results",
    "recall_notified": "recalls",
    "recall_isolated": "recalls",
    "recall_resampled": "recalls",
    "recall_resulted": "recalls",
    "recall_closed": "recalls",
}
STAGE_ORDER = ("swabs", "boxes", "receipts", "results", "recalls")
RECALL_STEPS = (
    ("recall_notified", timedelta(minutes=30)),
    ("recall_isolated", timedelta(hours=1)),
    ("recall_resampled", timedelta(hours=2)),
    ("recall_resulted", timedelta(hours=8)),
    ("recall_closed", timedelta(minutes=30)),
)


class SimulationError(ValueError):
    """The set-up facts cannot carry the simulated round (e.g. too few tubes)."""


@dataclass(frozen=True)
class StationPlan:
    """One station: its code, the device that records there, its pool size and its queue."""

    code: str
    device: str
    capacity: int
    people: Sequence[Person]
    # Pool size per person (e.g. 1 for key groups); None means `capacity` for everyone.
    capacities: Sequence[int] | None = None


@dataclass(frozen=True)
class RoundFacts:
    """What a simulation needs to know about a round's set-up."""

    round: str
    stations: Sequence[StationPlan]
    tubes: Mapping[int, Sequence[str]]  # unused barcodes by capacity, in issue order
    lab: str
    lab_device: str = "lab-1"
    courier: str = "courier-1"
    recall_device: str = "recall-1"
    retest_tubes: Sequence[str] = ()  # single tubes for recall resamples
    starts_at: datetime = DEFAULT_START
    swab_seconds: int = 20
    box_tubes: int = 50
    # A box leaves the station when full or when its first swab is this old.
    box_max_age: timedelta = timedelta(hours=2)
    positive_rate: float = 0.01
    invalid_rate: float = 0.0
    positives: int | None = None  # an exact number of positive tubes instead of a rate


@dataclass
class SimulatedRound:
    """The event stream of a round and what it should add up to."""

    events: list[Event]
    people: int
    tubes: list[str] = field(default_factory=list)
    boxes: dict[str, list[str]] = field(default_factory=dict)  # box code -> tube barcodes
    positive_tubes: list[str] = field(default_factory=list)
    invalid_tubes: list[str] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # tube -> swab count
    recalls: int = 0


def new_id(rng: Random, at: datetime | None = None) -> str:
    """Return an event id the way Tongxin's field app makes one, from the seeded generator.

    With a device time it is a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random
    bits. Ids made in time order land at the end of the ledger's unique index instead of on a
    random page of it (docs/decisions/0014). Without one it is a random UUIDv4, as other
    clients may send.
    """
    if at is None:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    millis = int(at.timestamp() * 1000)
    value = (millis & (1 << 48) - 1) << 80 | rng.getrandbits(80)
    # Version 7 in bits 76-79 and the RFC 4122 variant in bits 62-63.
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    return str(uuid.UUID(int=value))


def walk_ins(rng: Random, count: int, *, region: str = WALK_IN_REGION) -> list[Person]:
    """Return `count` unregistered people identified by valid, distinct ID numbers."""
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
        number = make_resident_id(region, born, rng.randrange(1000), gender)
        if number in seen:
            continue
        seen.add(number)
        people.append(
            {
                "id_number": number,
                "name": f"访客{len(people) + 1}",
                "phone": f"139{rng.randrange(10**8):08d}",
            }
        )
    return people


class _Builder:
    """Collect events with their device time; numbering happens once all are known."""

    def __init__(self, facts: RoundFacts, rng: Random) -> None:
        self.facts = facts
        self.rng = rng
        self.events: list[Event] = []
        # Queues, not lists: taking the first of a list moves every tube after it, which made
        # the simulation quadratic (bench city: 10 s at 1 M people, 72 s at 4 M).
        self.tubes_left = {k: deque(v) for k, v in facts.tubes.items()}
        self.retests = deque(facts.retest_tubes)
        self.seals = 0

    def add(self, type_: str, device: str, at: datetime, **fields: Any) -> Event:
        event: Event = {
            "id": new_id(self.rng, at),
            "device": device,
            "seq": 0,
            "type": type_,
            "at": at,
            "round": self.facts.round,
            **fields,
        }
        self.events.append(event)
        return event

    def take_tube(self, capacity: int) -> str:
        left = self.tubes_left.get(capacity)
        if not left:
            raise SimulationError(f"no unused tube of capacity {capacity} left")
        return left.popleft()


def simulate_round(facts: RoundFacts, rng: Random) -> SimulatedRound:
    """Return a valid event stream for the whole round, in device-time order."""
    b = _Builder(facts, rng)
    out = SimulatedRound(events=b.events, people=0)
    receipts: list[tuple[str, datetime, list[str]]] = []
    for station in facts.stations:
        _run_station(b, out, station, receipts)
    _report_results(b, out, receipts)
    b.events.sort(key=lambda e: e["at"])  # stable: same-time events keep their making order
    number_by_device(b.events)
    for event in b.events:
        event["at"] = event["at"].isoformat()
    return out


def _run_station(
    b: _Builder,
    out: SimulatedRound,
    station: StationPlan,
    receipts: list[tuple[str, datetime, list[str]]],
) -> None:
    facts = b.facts
    capacities = station.capacities or [station.capacity] * len(station.people)
    if len(capacities) != len(station.people):
        raise SimulationError(f"station {station.code}: one capacity per person is needed")
    if min(capacities, default=1) < 1:
        raise SimulationError("household tubes are not simulated; give people a pool size")
    t = facts.starts_at
    open_tubes: dict[int, tuple[str, int]] = {}  # capacity -> (barcode, members)
    box: list[str] = []
    box_started: datetime | None = None
    boxes_here = 0

    def close(capacity: int, at: datetime, reason: str | None) -> None:
        tube, members = open_tubes.pop(capacity)
        b.add("tube_closed", station.device, at, tube=tube, station=station.code, reason=reason)
        out.tubes.append(tube)
        out.members[tube] = members
        box.append(tube)

    def seal(at: datetime) -> None:
        nonlocal box, box_started, boxes_here
        boxes_here += 1
        b.seals += 1
        code = f"{station.code}-B{boxes_here:03d}"
        b.add(
            "box_sealed",
            station.device,
            at,
            box=code,
            tubes=list(box),
            count=len(box),
            seal=f"F{b.seals:08d}",
            station=station.code,
        )
        handed = at + timedelta(minutes=10)
        b.add(
            "handover",
            station.device,
            handed,
            boxes=[code],
            **{"from": station.code, "to": facts.courier},
            confirmations=["from", "to"],
        )
        received = handed + timedelta(minutes=40 + b.rng.randrange(30))
        b.add("box_received", facts.lab_device, received, box=code, lab=facts.lab, conditions={})
        out.boxes[code] = list(box)
        receipts.append((code, received, list(box)))
        box, box_started = [], None

    for person, capacity in zip(station.people, capacities, strict=True):
        if capacity not in open_tubes:
            open_tubes[capacity] = (b.take_tube(capacity), 0)
        tube, members = open_tubes[capacity]
        if box_started is None:
            box_started = t
        b.add("swab_taken", station.device, t, station=station.code, person=dict(person), tube=tube)
        out.people += 1
        open_tubes[capacity] = (tube, members + 1)
        last = t
        t += timedelta(seconds=facts.swab_seconds + b.rng.randrange(10))
        if members + 1 == capacity:
            close(capacity, last + timedelta(seconds=1), None)
            if len(box) >= facts.box_tubes or last - box_started >= facts.box_max_age:
                seal(last + timedelta(minutes=1))
    for capacity in sorted(open_tubes):
        close(capacity, t, SHORT_REASON)
        t += timedelta(seconds=1)
    if box:
        seal(t + timedelta(minutes=1))


def _report_results(
    b: _Builder, out: SimulatedRound, receipts: list[tuple[str, datetime, list[str]]]
) -> None:
    facts = b.facts
    tubes = [tube for _, _, box in receipts for tube in box]
    if facts.positives is not None:
        positive = set(b.rng.sample(tubes, min(facts.positives, len(tubes))))
    else:
        positive = {tube for tube in tubes if b.rng.random() < facts.positive_rate}
    invalid = {
        tube for tube in tubes if tube not in positive and b.rng.random() < facts.invalid_rate
    }
    for _code, received, box in receipts:
        for tube in box:
            at = received + timedelta(hours=2, minutes=b.rng.randrange(240))
            if tube in positive:
                result, ct = "positive", round(25 + b.rng.random() * 10, 1)
                out.positive_tubes.append(tube)
            elif tube in invalid:
                result, ct = "invalid", None
                out.invalid_tubes.append(tube)
            else:
                result, ct = "negative", None
            b.add(
                "result_reported",
                facts.lab_device,
                at,
                tube=tube,
                lab=facts.lab,
                result=result,
                ct=ct,
            )
            if result != "negative":
                _recall(b, out, tube, at)


def _recall(b: _Builder, out: SimulatedRound, tube: str, resulted: datetime) -> None:
    for position in range(1, out.members[tube] + 1):
        at = resulted
        for type_, step in RECALL_STEPS:
            at += step
            extra: dict[str, Any] = {}
            if type_ == "recall_resampled":
                if not b.retests:
                    raise SimulationError("no single tube left for a recall resample")
                extra["retest_tube"] = b.retests.popleft()
            elif type_ == "recall_resulted":
                extra["result"] = "negative"
            b.add(type_, b.facts.recall_device, at, tube=tube, position=position, **extra)
        out.recalls += 1


def number_by_device(events: Iterable[Event]) -> None:
    """Number each device's events 1, 2, 3… in stream order (what a device's counter does)."""
    counters: dict[str, int] = defaultdict(int)
    for event in events:
        counters[event["device"]] += 1
        event["seq"] = counters[event["device"]]


def by_stage(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Split a stream by stage (swabs, boxes, receipts, results, recalls), order kept."""
    stages: dict[str, list[Event]] = {stage: [] for stage in STAGE_ORDER}
    for event in events:
        stages[STAGES[event["type"]]].append(event)
    return stages
