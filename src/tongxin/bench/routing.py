"""`tongxin bench routing`: generated CVRPTW instances of 100, 400 and 1,000 stops.

Each size is solved at the default time limit and again with ten times as long; `gap_pct`
is how much longer the default plan's distance is than the better of the two (the best
known); it is null when the default run did not serve as many stops as the longer one.
The instances are seeded, so two runs solve the same problems.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from tongxin.logistics import routing
from tongxin.logistics.rules import distance_matrix, minutes_for

# Baiyun District, Guiyang: stops scatter within ~8 km of here.
CENTRE = (26.68, 106.64)
CAPACITY_G = 500_000


def instance(
    stops: int, *, seed: int, detour: float = 1.3, speed_kmh: float = 25.0
) -> routing.Problem:
    """Generate a two-depot instance: 5–30 kg orders, 500 kg vans, some 2-hour windows."""
    rng = random.Random(seed * 1_000_003 + stops)
    depots = [(CENTRE[0] + 0.02, CENTRE[1] - 0.02), (CENTRE[0] - 0.02, CENTRE[1] + 0.02)]
    points = list(depots)
    stop_list = []
    for k in range(stops):
        r = 0.075 * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        points.append(
            (
                CENTRE[0] + r * math.cos(a),
                CENTRE[1] + r * math.sin(a) / math.cos(math.radians(CENTRE[0])),
            )
        )
        if rng.random() < 0.3:
            start = rng.choice([9, 11, 13, 15]) * 60
            window = (start, start + 120)
        else:
            window = (8 * 60, 20 * 60)
        stop_list.append(
            routing.Stop(
                name=f"S{k}",
                demand_g=rng.randint(5, 30) * 1000,
                window=window,
                service_min=3,
                urgent=rng.random() < 0.05,
            )
        )
    total_g = sum(s.demand_g for s in stop_list)
    cars = max(2, math.ceil(total_g / CAPACITY_G * 1.3))
    vehicles = [
        routing.Vehicle(name=f"V{v}", depot=v % 2, capacity_g=CAPACITY_G, shift=(8 * 60, 20 * 60))
        for v in range(cars)
    ]
    metres = distance_matrix(points, detour=detour)
    minutes = [[minutes_for(d, speed_kmh) for d in row] for row in metres]
    return routing.Problem(
        depots=2,
        vehicles=vehicles,
        stops=stop_list,
        distance_m=metres,
        travel_min=minutes,
        points=points,
    )


def run_routing_bench(
    *,
    sizes: list[int],
    base_time_limit_s: float,
    longer: float,
    seed: int,
    step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Solve each size at its time limit and at `longer` times it; return the JSON line."""
    results = []
    for size in sizes:
        problem = instance(size, seed=seed)
        time_limit_s = round(routing.time_limit_for(size, base_time_limit_s), 1)
        if step:
            step(f"{size} stops, {time_limit_s:g} s")
        quick = routing.solve(problem, time_limit_s=time_limit_s)
        if step:
            step(f"{size} stops, {time_limit_s * longer:g} s")
        best = routing.solve(problem, time_limit_s=time_limit_s * longer)
        # A gap means something only when both runs served the same stops.
        comparable = quick.routes and len(quick.dropped) == len(best.dropped)
        reference = min(best.distance_m, quick.distance_m)
        results.append(
            {
                "stops": size,
                "vehicles": len(problem.vehicles),
                "time_limit_s": time_limit_s,
                "solve_s": round(quick.solve_s, 2),
                "distance_km": round(quick.distance_m / 1000, 1),
                "dropped": len(quick.dropped),
                "longer_time_limit_s": time_limit_s * longer,
                "longer_distance_km": round(best.distance_m / 1000, 1),
                "longer_dropped": len(best.dropped),
                # None: the default run found no plan serving the same stops, so no gap.
                "gap_pct": (
                    round(100 * (quick.distance_m - reference) / reference, 2)
                    if comparable
                    else None
                ),
            }
        )
    return {
        "bench": "routing",
        "seed": seed,
        "reference": f"best of a {longer:g}x longer run",
        "sizes": results,
    }
