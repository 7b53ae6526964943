"""The schedule's lower bound: never above any plan's peak queue, tight where walking binds."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.planning.scheduler import (
    Group,
    ScheduleRules,
    SiteSpec,
    Slot,
    flow_bound,
    lower_bound,
    plan_schedule,
    reachable_sites,
    simple_bound,
)

RULES = ScheduleRules(
    slot_minutes=30, queue_cap=15.0, walk_limit_minutes=15.0, walk_speed_kmh=4.5, walk_detour=1.3
)
START = datetime(2022, 9, 23, 0, 0, tzinfo=UTC)
LAT = 26.6
# 0.006 degrees of longitude at 26.6° N is about 600 m, 10.7 minutes on foot with the
# detour: a point half-way between two sites 0.012 apart reaches both, a site point only
# its own site (the next is 21 minutes away).
SITE_STEP = 0.012


def queue(people: int, site: SiteSpec) -> float:
    # Sakasegawa M/D/c, written out again so the check does not trust the planner's copy.
    full = site.stations * site.per_station_hour * RULES.slot_minutes / 60.0
    load = people / full
    if load <= 0:
        return 0.0
    if load >= 1:
        return math.inf
    return load ** math.sqrt(2 * (site.stations + 1)) / (1 - load) * 0.5


def make_slots(n: int) -> list[Slot]:
    step = timedelta(minutes=RULES.slot_minutes)
    return [Slot(i, START + i * step, START + (i + 1) * step) for i in range(n)]


def brute_force_optimum(
    groups: list[Group], sites: list[SiteSpec], reach: dict[str, list[tuple[float, int]]], n: int
) -> float:
    """Return the least peak queue over every plan: each group to a site in reach, its
    walk-ins to one slot and its green people to one slot that serves green people only."""
    choices = []
    for g in groups:
        regular = range(n) if g.people else [None]
        green = range(n) if g.green else [None]
        choices.append(list(itertools.product([i for _, i in reach[g.key]], regular, green)))
    best = math.inf
    for plan in itertools.product(*choices):
        walk_in: dict[tuple[int, int], int] = defaultdict(int)
        green_in: dict[tuple[int, int], int] = defaultdict(int)
        for g, (si, slot, green_slot) in zip(groups, plan, strict=True):
            if slot is not None:
                walk_in[(si, slot)] += g.people
            if green_slot is not None:
                green_in[(si, green_slot)] += g.green
        if set(walk_in) & set(green_in):
            continue
        peak = max(queue(p, sites[si]) for (si, _), p in {**walk_in, **green_in}.items())
        best = min(best, peak)
    return best


@st.composite
def tiny_rounds(draw: st.DrawFn) -> tuple[list[Group], list[SiteSpec], int]:
    n_sites = draw(st.integers(min_value=2, max_value=3))
    sites = [
        SiteSpec(
            i + 1,
            f"S{i + 1}",
            f"采样点{i + 1}",
            LAT,
            106.6 + i * SITE_STEP,
            draw(st.integers(min_value=1, max_value=3)),
            draw(st.sampled_from([20.0, 40.0, 90.0])),
        )
        for i in range(n_sites)
    ]
    n_slots = draw(st.integers(min_value=1, max_value=3))
    # Few enough choices per group for the brute force: at most 3 sites x 3 x 3 slots.
    n_groups = draw(st.integers(min_value=1, max_value=3 if n_slots < 3 else 2))
    groups = []
    for k in range(n_groups):
        # Positions 0, 2, 4 sit at a site; 1 and 3 half-way, in reach of two sites.
        spot = draw(st.integers(min_value=0, max_value=2 * (n_sites - 1)))
        people = draw(st.integers(min_value=0, max_value=30))
        green = draw(st.integers(min_value=0 if people else 1, max_value=10))
        groups.append(Group(f"G{k}", k, f"{k}栋", LAT, 106.6 + spot * SITE_STEP / 2, people, green))
    return groups, sites, n_slots


@settings(max_examples=150, deadline=None)
@given(tiny_rounds())
def test_the_bound_never_exceeds_the_best_plan_nor_the_heuristics(
    case: tuple[list[Group], list[SiteSpec], int],
) -> None:
    groups, sites, n_slots = case
    reach = reachable_sites(groups, sites, RULES)
    assert all(reach[g.key] for g in groups)
    bound = lower_bound(groups, reach, sites, RULES, n_slots)
    optimum = brute_force_optimum(groups, sites, reach, n_slots)
    assert bound <= optimum * (1 + 1e-12)
    plan = plan_schedule(groups, sites, make_slots(n_slots), RULES)
    if plan.feasible:
        assert bound <= plan.peak_queue * (1 + 1e-12)
        assert plan.lower_bound == bound


def crowded_district() -> tuple[list[Group], list[SiteSpec], int]:
    """Two one-station sites and a crowd that can walk to them only; a big site far off."""
    sites = [
        SiteSpec(1, "A1", "东门", LAT, 106.600, 1, 90.0),
        SiteSpec(2, "A2", "西门", LAT, 106.604, 1, 90.0),
        SiteSpec(3, "B", "体育馆", LAT, 106.630, 20, 90.0),
    ]
    n_slots = 28
    # 1,680 people between A1 and A2 (400 m apart), 3 km from B: 30 per slot at each.
    crowd = [Group(f"C{k}", k, f"{k}栋", LAT, 106.602, 10, 0) for k in range(2 * n_slots * 3)]
    near_b = [Group(f"B{k}", 1000 + k, f"B{k}栋", LAT, 106.630, 40, 10) for k in range(5)]
    return crowd + near_b, sites, n_slots


def test_walking_limits_make_the_flow_bound_tight_where_the_spread_one_was_not() -> None:
    groups, sites, n_slots = crowded_district()
    reach = reachable_sites(groups, sites, RULES)
    assert {i for g in groups if g.key.startswith("C") for _, i in reach[g.key]} == {0, 1}
    # The best plan: three crowd groups in every slot at each of A1 and A2 (30 of 45
    # people a slot can take), the people near B in two of B's slots.
    best = queue(30, sites[0])
    assert best == pytest.approx(2 / 3)
    flow = flow_bound(groups, reach, sites, RULES, n_slots)
    assert best * (1 - 1e-6) <= flow <= best
    # The spread bounds let the crowd use B's twenty stations and see a short queue.
    old = simple_bound(groups, reach, sites, RULES, n_slots)
    assert old < 0.1 * best
    assert lower_bound(groups, reach, sites, RULES, n_slots) == flow
    plan = plan_schedule(groups, sites, make_slots(n_slots), RULES)
    assert plan.feasible and plan.lower_bound == flow <= plan.peak_queue


def test_a_site_whose_slots_can_be_filled_exactly_is_planned_at_the_bound() -> None:
    # One green slot of 30 and three walk-in slots of 30 is the best plan, and the flow
    # bound (which lets green people share slots) cannot tell it from a perfect spread.
    site = SiteSpec(1, "S1", "东门", LAT, 106.6, 1, 90.0)
    groups = [Group(f"G{k}", k, f"{k}栋", LAT, 106.6, 30, 10) for k in range(3)]
    plan = plan_schedule(groups, [site], make_slots(4), RULES)
    assert plan.feasible
    assert plan.loads[1] == [30, 30, 30, 30] and plan.green_slots[1] == [0]
    assert plan.peak_queue == pytest.approx(queue(30, site))
    assert plan.lower_bound == pytest.approx(plan.peak_queue, rel=1e-6)
    assert plan.gap < 1e-6
