"""Route rules and the OR-Tools solver on small generated instances."""

from __future__ import annotations

import pytest

from tongxin.bench.routing import instance
from tongxin.logistics import routing, rules


def test_great_circle_distance_matches_a_known_figure():
    # Guiyang to Beijing is about 1,730 km as the crow flies.
    assert rules.great_circle_m((26.65, 106.63), (39.90, 116.40)) == pytest.approx(
        1_733_000, rel=0.01
    )


def test_a_supplied_distance_replaces_the_detour_estimate_for_its_pair_only():
    a, b, c = (26.68, 106.64), (26.69, 106.65), (26.70, 106.66)
    supplied = {(rules.point_key(a), rules.point_key(b)): 4321}
    m = rules.distance_matrix([a, b, c], detour=1.3, supplied=supplied)
    assert m[0][1] == 4321
    assert m[1][0] == round(rules.great_circle_m(b, a) * 1.3)


def test_infeasible_orders_are_named_with_their_reason():
    shifts = [rules.Shift("V1", (480, 1200), 100_000)]
    stops = [
        rules.StopNeed("order 1", 5000, (600, 660)),
        rules.StopNeed("order 2", 5000, (700, 690)),
        rules.StopNeed("order 3", 500_000, (600, 900)),
        rules.StopNeed("order 4", 5000, (1260, 1300)),
    ]
    problems = rules.infeasible_stops(
        stops, shifts, travel_from_depots=[[10] * 4], travel_to_depots=[[10] * 4], service_min=3
    )
    assert [(p.where, p.code) for p in problems] == [
        ("order 2", "empty_window"),
        ("order 3", "too_heavy"),
        ("order 4", "window_unreachable"),
    ]


def test_the_solver_serves_every_stop_within_windows_and_capacity():
    problem = instance(40, seed=3)
    solution = routing.solve(problem, time_limit_s=1)
    assert solution.dropped == []
    seen = sorted(v.stop for r in solution.routes for v in r.visits)
    assert seen == list(range(40))
    for route in solution.routes:
        vehicle = problem.vehicles[route.vehicle]
        assert route.load_g <= vehicle.capacity_g
        assert vehicle.shift[0] <= route.leave <= route.back <= vehicle.shift[1]
        for visit in route.visits:
            lo, hi = problem.stops[visit.stop].window
            assert lo <= visit.arrive <= hi


def test_an_urgent_stop_is_kept_when_the_fleet_cannot_take_everyone():
    problem = instance(20, seed=9)
    tight = routing.Problem(
        depots=problem.depots,
        vehicles=[routing.Vehicle("V", 0, 60_000, (480, 1200))],
        stops=[
            routing.Stop(s.name, 20_000, (480, 1200), 3, urgent=(k == 7))
            for k, s in enumerate(problem.stops)
        ],
        distance_m=problem.distance_m,
        travel_min=problem.travel_min,
    )
    solution = routing.solve(tight, time_limit_s=1)
    assert len(solution.dropped) == 17
    assert 7 not in solution.dropped


def test_a_large_problem_is_solved_in_sectors_serving_every_stop_once(monkeypatch):
    monkeypatch.setattr(routing, "SECTOR_STOPS", 25)
    problem = instance(70, seed=4)
    solution = routing.solve(problem, time_limit_s=1.5)
    assert solution.dropped == []
    seen = sorted(v.stop for r in solution.routes for v in r.visits)
    assert seen == list(range(70))
    used = [r.vehicle for r in solution.routes]
    assert len(used) == len(set(used))
    for route in solution.routes:
        assert route.load_g <= problem.vehicles[route.vehicle].capacity_g
        for visit in route.visits:
            lo, hi = problem.stops[visit.stop].window
            assert lo <= visit.arrive <= hi
    assert solution.distance_m == sum(r.distance_m for r in solution.routes)


def test_sectors_split_the_stops_evenly_and_keep_every_one():
    points = [(26.0, 106.0)] + [(26.0 + (k % 7) / 100, 106.0 + (k // 7) / 100) for k in range(50)]
    parts = routing.sectors(points, depots=1, parts=3)
    assert sorted(k for p in parts for k in p) == list(range(50))
    assert [len(p) for p in parts] == [17, 17, 16]
