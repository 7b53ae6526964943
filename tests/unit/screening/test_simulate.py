"""The round simulator yields valid, consistent streams; fault planting plants what it says."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from random import Random

import pytest

from tongxin.registry.rules import parse_resident_id, resident_code
from tongxin.screening.rules import tube_barcode
from tongxin.screening.schemas import EVENT_ADAPTER
from tongxin.screening.simulate import (
    RoundFacts,
    SimulationError,
    StationPlan,
    by_stage,
    simulate_round,
    walk_ins,
)
from tongxin.screening.simulate_faults import plant_faults


def _facts(people: int = 95, **overrides: object) -> RoundFacts:
    queue = [{"resident_code": resident_code(10_000 + i)} for i in range(people)]
    queue += walk_ins(Random(1), 5)
    half = len(queue) // 2
    values: dict[str, object] = {
        "round": "R1",
        "stations": [
            StationPlan("R1-S1-1", "pad-1", 10, queue[:half]),
            StationPlan("R1-S1-2", "pad-2", 10, queue[half:]),
        ],
        "tubes": {10: [tube_barcode(n) for n in range(1, 31)]},
        "retest_tubes": [tube_barcode(n) for n in range(100, 200)],
        "lab": "LAB1",
        "box_tubes": 3,
        "positives": 2,
    }
    values.update(overrides)
    return RoundFacts(**values)


def test_every_simulated_event_is_valid_wire_format() -> None:
    sim = simulate_round(_facts(), Random(7))
    for event in sim.events:
        EVENT_ADAPTER.validate_python(event)
    assert all(by_stage(sim.events).values())
    assert all(e["at"].endswith("+08:00") for e in sim.events)


def test_same_seed_gives_the_same_stream_and_another_seed_another() -> None:
    assert simulate_round(_facts(), Random(7)).events == simulate_round(_facts(), Random(7)).events
    assert simulate_round(_facts(), Random(7)).events != simulate_round(_facts(), Random(8)).events


def test_each_device_numbers_its_events_in_time_order() -> None:
    sim = simulate_round(_facts(), Random(7))
    per_device: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for e in sim.events:
        per_device[e["device"]].append((e["seq"], datetime.fromisoformat(e["at"])))
    assert len(per_device) >= 3
    for numbered in per_device.values():
        assert [seq for seq, _ in numbered] == list(range(1, len(numbered) + 1))
        times = [at for _, at in numbered]
        assert times == sorted(times)
    assert len({e["id"] for e in sim.events}) == len(sim.events)


def test_tubes_fill_to_capacity_and_only_the_last_of_a_station_closes_short() -> None:
    sim = simulate_round(_facts(people=91), Random(7))
    swabs = Counter(e["tube"] for e in sim.events if e["type"] == "swab_taken")
    closes = [e for e in sim.events if e["type"] == "tube_closed"]
    assert sum(swabs.values()) == sim.people == 96
    assert sorted(e["tube"] for e in closes) == sorted(swabs)
    short = [e for e in closes if e["reason"] is not None]
    assert all(swabs[e["tube"]] == 10 for e in closes if e["reason"] is None)
    assert {e["station"] for e in short} == {"R1-S1-1", "R1-S1-2"}
    assert len(short) == 2


def test_every_tube_is_boxed_handed_over_received_and_resulted_once() -> None:
    sim = simulate_round(_facts(), Random(7))
    sealed = [e for e in sim.events if e["type"] == "box_sealed"]
    boxed = [t for e in sealed for t in e["tubes"]]
    assert sorted(boxed) == sorted(sim.tubes)
    assert all(e["count"] == len(e["tubes"]) <= 3 for e in sealed)
    handed = [b for e in sim.events if e["type"] == "handover" for b in e["boxes"]]
    received = [e["box"] for e in sim.events if e["type"] == "box_received"]
    assert sorted(handed) == sorted(received) == sorted(e["box"] for e in sealed)
    assert all(
        sorted(e["confirmations"]) == ["from", "to"] for e in sim.events if e["type"] == "handover"
    )
    results = [e for e in sim.events if e["type"] == "result_reported"]
    assert sorted(e["tube"] for e in results) == sorted(sim.tubes)
    assert sorted(e["tube"] for e in results if e["result"] == "positive") == sorted(
        sim.positive_tubes
    )
    assert len(sim.positive_tubes) == 2


def test_every_member_of_a_positive_tube_goes_through_the_whole_recall() -> None:
    sim = simulate_round(_facts(), Random(7))
    recalls = by_stage(sim.events)["recalls"]
    members = sum(sim.members[t] for t in sim.positive_tubes)
    assert sim.recalls == members
    steps = Counter((e["tube"], e["position"]) for e in recalls)
    assert len(steps) == members
    assert set(steps.values()) == {5}
    retests = [e["retest_tube"] for e in recalls if e["type"] == "recall_resampled"]
    assert len(set(retests)) == members


def test_a_positive_rate_gives_about_that_share_of_positive_tubes() -> None:
    facts = _facts(
        people=1995,
        tubes={10: [tube_barcode(n) for n in range(1, 301)]},
        retest_tubes=[tube_barcode(n) for n in range(1000, 2000)],
        box_tubes=50,
        positives=None,
        positive_rate=0.1,
    )
    sim = simulate_round(facts, Random(3))
    assert len(sim.tubes) == 200
    assert 8 <= len(sim.positive_tubes) <= 35


def test_walk_ins_carry_valid_distinct_id_numbers() -> None:
    people = walk_ins(Random(5), 50)
    for person in people:
        parse_resident_id(person["id_number"])
    assert len({p["id_number"] for p in people}) == 50


def test_too_few_tubes_is_an_error_not_a_short_stream() -> None:
    with pytest.raises(SimulationError):
        simulate_round(_facts(tubes={10: [tube_barcode(1)]}), Random(7))


def test_planting_faults_plants_exactly_the_four_faults() -> None:
    sim = simulate_round(_facts(), Random(7))
    stream, planted = plant_faults(sim.events, Random(9), replay=20)
    for event in stream:
        EVENT_ADAPTER.validate_python(event)
    ids = Counter(e["id"] for e in stream)
    assert sorted(i for i, n in ids.items() if n > 1) == sorted(planted.replayed)
    assert len(planted.replayed) == 20
    assert set(ids) - {e["id"] for e in sim.events} == planted.rejected

    swabs = Counter(e["tube"] for e in stream if e["type"] == "swab_taken")
    assert swabs[planted.overfilled_tube] == 11
    close = next(
        i
        for i, e in enumerate(stream)
        if e["type"] == "tube_closed" and e["tube"] == planted.overfilled_tube
    )
    overfill = next(i for i, e in enumerate(stream) if e["id"] == planted.overfill_event)
    assert overfill < close

    lost = set(planted.unreceived_tubes)
    assert planted.unreceived_box not in {e["box"] for e in stream if e["type"] == "box_received"}
    assert not [
        e for e in stream if e["type"].startswith(("result", "recall")) and e["tube"] in lost
    ]
    assert planted.unreceived_box in {
        b for e in stream if e["type"] == "handover" for b in e["boxes"]
    }

    unknown = [e for e in stream if e["type"] == "result_reported" and e["tube"] not in sim.tubes]
    assert [e["id"] for e in unknown] == [planted.unknown_result_event]
    assert planted.unknown_tube not in sim.tubes

    first_copies: dict[str, int] = {}
    for e in stream:
        if e["id"] in first_copies:
            assert e["seq"] == first_copies[e["id"]]
        first_copies[e["id"]] = e["seq"]


def test_people_with_their_own_pool_size_go_into_tubes_of_that_size() -> None:
    queue = [{"resident_code": resident_code(10_000 + i)} for i in range(25)]
    capacities = [1 if i % 5 == 0 else 10 for i in range(25)]
    facts = _facts(
        stations=[StationPlan("R1-S1-1", "pad-1", 10, queue, capacities)],
        tubes={
            10: [tube_barcode(n) for n in range(1, 5)],
            1: [tube_barcode(n) for n in range(9, 20)],
        },
        positives=0,
    )
    sim = simulate_round(facts, Random(7))
    singles = {tube_barcode(n) for n in range(9, 20)}
    swabs = Counter(e["tube"] for e in sim.events if e["type"] == "swab_taken")
    assert sum(1 for t in swabs if t in singles) == 5
    assert sorted(n for t, n in swabs.items() if t not in singles) == [10, 10]
    short = [e["tube"] for e in sim.events if e["type"] == "tube_closed" and e["reason"]]
    assert short == []
