"""Sample-transport planning: every box's age at the lab, and the trips at risk."""

from __future__ import annotations

from tongxin.logistics.samples import BoxReady, box_status, plan_pickups
from tongxin.settings import Settings

SETTINGS = Settings(route_time_limit_s=0.5)
LAB = (26.60, 106.70)


def test_nearby_boxes_reach_the_lab_well_within_four_hours():
    boxes = [BoxReady("S1", (26.61, 106.69), 300 + 20 * k) for k in range(6)]
    trips, unplanned = plan_pickups(boxes, lab=LAB, couriers=2, settings=SETTINGS)
    assert unplanned == []
    ages = [p.age_min for t in trips for p in t.pickups]
    assert len(ages) == 6 and max(ages) <= 240
    assert not any(t.at_risk for t in trips)


def test_a_box_too_far_for_any_trip_slot_is_unplanned_and_named():
    # ~105 km of road at 25 km/h is over four hours one way: no 4-hour slot can fetch it.
    too_far = (LAB[0] + 0.73, LAB[1])
    boxes = [BoxReady("FAR", too_far, 300), BoxReady("S1", (26.61, 106.69), 300)]
    trips, unplanned = plan_pickups(boxes, lab=LAB, couriers=1, settings=SETTINGS)
    assert [(p.site, p.status) for p in unplanned] == [("FAR", "unplanned")]
    assert [p.site for t in trips for p in t.pickups] == ["S1"]


def test_boxes_close_to_the_limit_are_at_risk_and_past_it_late():
    assert [box_status(age, 240) for age in (100, 210, 211, 240, 241)] == [
        "ok",
        "ok",
        "at_risk",
        "at_risk",
        "late",
    ]
