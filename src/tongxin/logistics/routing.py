"""Capacitated vehicle routing with time windows (CVRPTW), from one or more depots, with OR-Tools.

The problem arrives as plain data (matrices in metres and minutes, windows in minutes), so the
same solver plans supply deliveries, sample pick-ups and the benchmark's generated instances.
Stops that cannot be fitted are dropped at a high cost and reported by name, never silently.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Dropping a stop must always cost more than any detour that serves it.
DROP_PENALTY = 10_000_000
URGENT_DROP_PENALTY = 100_000_000


@dataclass(frozen=True)
class Vehicle:
    """A vehicle for the solver: its depot (index into depots), capacity and shift."""

    name: str
    depot: int
    capacity_g: int
    shift: tuple[int, int]


@dataclass(frozen=True)
class Stop:
    """A stop for the solver: demand, window, service minutes, urgency."""

    name: str
    demand_g: int
    window: tuple[int, int]
    service_min: int
    urgent: bool = False


@dataclass(frozen=True)
class Problem:
    """Depots, then stops, share the node numbering of the matrices: depots first."""

    depots: int
    vehicles: Sequence[Vehicle]
    stops: Sequence[Stop]
    distance_m: Sequence[Sequence[int]]
    travel_min: Sequence[Sequence[int]]
    # (lat, lon) of each node, depots first; lets a large problem be solved in sectors.
    points: Sequence[tuple[float, float]] | None = None


@dataclass(frozen=True)
class Visit:
    """A stop on a route: its index in the problem's stops and the minute the vehicle arrives."""

    stop: int
    arrive: int


@dataclass(frozen=True)
class Route:
    """One vehicle's route: visits in order, leave and return minutes, metres and grams."""

    vehicle: int
    visits: list[Visit]
    leave: int
    back: int
    distance_m: int
    load_g: int


@dataclass(frozen=True)
class Solution:
    """Routes of the vehicles used, the stops left out, total metres and seconds spent."""

    routes: list[Route]
    dropped: list[int]
    distance_m: int
    solve_s: float


def time_limit_for(stops: int, base_s: float) -> float:
    """Scale the configured limit (sized for 400 stops) to an instance's size.

    Small plans get a proportional share (at least 40 %); larger ones, solved in sectors of
    at most SECTOR_STOPS, get a proportional share too.
    """
    return base_s * max(0.4, stops / 400)


# Above this many stops a problem with coordinates is cut into sectors solved one by one:
# OR-Tools' first solution with time windows grows about quadratically (0.1 s at 400 stops,
# 12-30 s at 1,000 on a busy core here), so one 1,000-stop model may find no plan at all
# within its time limit, while sectors find one in a second. Guided local search also
# converges much faster on a sector: the bench's 400-stop instance in two sectors of 200
# gave 516 km in 5 s, against 552-616 km in 5 s and 523 km in 50 s as one model.
SECTOR_STOPS = 200


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    first_solution_only: bool = False,
    strategy: str = "PATH_CHEAPEST_ARC",
    droppable: bool = True,
) -> Solution:
    """Solve the CVRPTW within the time limit; the best solution found so far is returned.

    With `droppable` a stop may be left out at a high cost (reported in `dropped`), so an
    overfull day still gets a plan naming what does not fit; without it such a day has none.
    """
    if problem.points is not None and len(problem.stops) > SECTOR_STOPS:
        return _solve_in_sectors(
            problem,
            time_limit_s=time_limit_s,
            first_solution_only=first_solution_only,
            strategy=strategy,
            droppable=droppable,
        )
    return _solve_whole(
        problem,
        time_limit_s=time_limit_s,
        first_solution_only=first_solution_only,
        strategy=strategy,
        droppable=droppable,
    )


def sectors(points: Sequence[tuple[float, float]], depots: int, parts: int) -> list[list[int]]:
    """Cut the stops (indexes after the depots) into `parts` angular sectors of equal size
    around the stops' centre, so each sector is a compact slice of the map."""
    import math

    stops = list(range(len(points) - depots))
    lat = sum(points[depots + k][0] for k in stops) / len(stops)
    lon = sum(points[depots + k][1] for k in stops) / len(stops)
    stops.sort(key=lambda k: math.atan2(points[depots + k][0] - lat, points[depots + k][1] - lon))
    size = math.ceil(len(stops) / parts)
    return [stops[i : i + size] for i in range(0, len(stops), size)]


def _share(total: int, weights: Sequence[int]) -> list[int]:
    # Largest remainders, at least one each: vehicles per sector by the sector's demand.
    whole = sum(weights) or 1
    raw = [max(1.0, total * w / whole) for w in weights]
    shares = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True):
        if sum(shares) >= total:
            break
        shares[i] += 1
    return shares


def _solve_in_sectors(problem: Problem, *, time_limit_s: float, **options: Any) -> Solution:
    assert problem.points is not None
    parts = -(-len(problem.stops) // SECTOR_STOPS)
    groups = sectors(problem.points, problem.depots, parts)
    demand = [sum(problem.stops[k].demand_g for k in g) for g in groups]
    counts = _share(len(problem.vehicles), demand)
    routes: list[Route] = []
    dropped: list[int] = []
    total = 0
    spent = 0.0
    taken = 0
    for group, count in zip(groups, counts, strict=True):
        vehicle_ids = list(range(taken, min(taken + count, len(problem.vehicles))))
        taken += count
        nodes = list(range(problem.depots)) + [problem.depots + k for k in group]
        part = Problem(
            depots=problem.depots,
            vehicles=[problem.vehicles[v] for v in vehicle_ids],
            stops=[problem.stops[k] for k in group],
            distance_m=[[problem.distance_m[i][j] for j in nodes] for i in nodes],
            travel_min=[[problem.travel_min[i][j] for j in nodes] for i in nodes],
        )
        if not vehicle_ids:
            dropped += group
            continue
        found = _solve_whole(
            part, time_limit_s=time_limit_s * len(group) / len(problem.stops), **options
        )
        spent += found.solve_s
        total += found.distance_m
        dropped += [group[k] for k in found.dropped]
        for r in found.routes:
            routes.append(
                Route(
                    vehicle=vehicle_ids[r.vehicle],
                    visits=[Visit(stop=group[v.stop], arrive=v.arrive) for v in r.visits],
                    leave=r.leave,
                    back=r.back,
                    distance_m=r.distance_m,
                    load_g=r.load_g,
                )
            )
    return Solution(routes=routes, dropped=sorted(dropped), distance_m=total, solve_s=spent)


def _solve_whole(
    problem: Problem,
    *,
    time_limit_s: float,
    first_solution_only: bool,
    strategy: str,
    droppable: bool,
) -> Solution:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n_depots = problem.depots
    n = n_depots + len(problem.stops)
    starts = [v.depot for v in problem.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, len(problem.vehicles), starts, starts)
    routing = pywrapcp.RoutingModel(manager)

    distance = routing.RegisterTransitMatrix([list(map(int, row)) for row in problem.distance_m])
    routing.SetArcCostEvaluatorOfAllVehicles(distance)

    service = [0] * n_depots + [s.service_min for s in problem.stops]
    # Time from node i to j: the service at i, then the drive.
    timed = [[int(problem.travel_min[i][j]) + service[i] for j in range(n)] for i in range(n)]
    time_cb = routing.RegisterTransitMatrix(timed)
    horizon = max([v.shift[1] for v in problem.vehicles] + [s.window[1] for s in problem.stops])
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    demands = [0] * n_depots + [s.demand_g for s in problem.stops]
    demand_cb = routing.RegisterUnaryTransitVector(demands)
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [v.capacity_g for v in problem.vehicles], True, "load"
    )

    for k, stop in enumerate(problem.stops):
        index = manager.NodeToIndex(n_depots + k)
        time_dim.CumulVar(index).SetRange(stop.window[0], stop.window[1])
        if droppable:
            routing.AddDisjunction([index], URGENT_DROP_PENALTY if stop.urgent else DROP_PENALTY)
    # A depot no vehicle starts from is a plain node to OR-Tools: make it free to skip.
    for depot in set(range(n_depots)) - set(starts):
        routing.AddDisjunction([manager.NodeToIndex(depot)], 0)
    for v, vehicle in enumerate(problem.vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(*vehicle.shift)
        time_dim.CumulVar(routing.End(v)).SetRange(*vehicle.shift)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    if first_solution_only:
        params.solution_limit = 1
    else:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))

    started = time.perf_counter()
    found = routing.SolveWithParameters(params)
    solve_s = time.perf_counter() - started
    if found is None:
        # Disjunctions make "serve nobody" a solution, so this only happens when the time
        # limit ends before the first solution.
        return Solution(
            routes=[], dropped=list(range(len(problem.stops))), distance_m=0, solve_s=solve_s
        )

    routes: list[Route] = []
    served: set[int] = set()
    total = 0
    for v in range(len(problem.vehicles)):
        index = routing.Start(v)
        leave = found.Min(time_dim.CumulVar(index))
        visits: list[Visit] = []
        metres = 0
        load = 0
        while not routing.IsEnd(index):
            nxt = found.Value(routing.NextVar(index))
            metres += problem.distance_m[manager.IndexToNode(index)][manager.IndexToNode(nxt)]
            node = manager.IndexToNode(nxt)
            if not routing.IsEnd(nxt) and node >= n_depots:
                k = node - n_depots
                visits.append(Visit(stop=k, arrive=found.Min(time_dim.CumulVar(nxt))))
                load += problem.stops[k].demand_g
                served.add(k)
            index = nxt
        if visits:
            back = found.Min(time_dim.CumulVar(routing.End(v)))
            routes.append(
                Route(
                    vehicle=v, visits=visits, leave=leave, back=back, distance_m=metres, load_g=load
                )
            )
            total += metres
    dropped = [k for k in range(len(problem.stops)) if k not in served]
    return Solution(routes=routes, dropped=dropped, distance_m=total, solve_s=solve_s)
