"""Pure logistics decisions: distances, travel times, and whether an order can be served at all.

Times inside the planner are whole minutes from the start of the planning day (00:00 China
time), distances whole metres; both are what OR-Tools' integer dimensions need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tongxin.problems import InputProblem

EARTH_RADIUS_M = 6_371_008.8

Point = tuple[float, float]  # (latitude, longitude) in degrees


class RoutingError(InputProblem):
    """An input the planner cannot serve, naming the order or vehicle."""


def great_circle_m(a: Point, b: Point) -> float:
    """Return the great-circle (haversine) distance between two points, in metres."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def point_key(p: Point) -> tuple[float, float]:
    """Round a point to ~1 m so a supplied distance file matches the points it was made for."""
    return (round(p[0], 5), round(p[1], 5))


def distance_matrix(
    points: Sequence[Point],
    *,
    detour: float,
    supplied: Mapping[tuple[tuple[float, float], tuple[float, float]], int] | None = None,
) -> list[list[int]]:
    """Return road metres between all points: the supplied figure, else great-circle x detour."""
    keys = [point_key(p) for p in points]
    out = []
    for i, a in enumerate(points):
        row = []
        for j, b in enumerate(points):
            if i == j:
                row.append(0)
                continue
            given = supplied.get((keys[i], keys[j])) if supplied else None
            row.append(int(given) if given is not None else round(great_circle_m(a, b) * detour))
        out.append(row)
    return out


def minutes_for(metres: int, speed_kmh: float) -> int:
    """Return whole minutes (rounded up) to drive `metres` at `speed_kmh`."""
    return math.ceil(metres / (speed_kmh * 1000 / 60))


@dataclass(frozen=True)
class StopNeed:
    """What one stop asks of the fleet: weight, a window (minutes), and its name for errors."""

    name: str
    weight_g: int
    window: tuple[int, int]


@dataclass(frozen=True)
class Shift:
    """When a vehicle is on the road (minutes) and how much it carries."""

    name: str
    window: tuple[int, int]
    capacity_g: int


def infeasible_stops(
    stops: Sequence[StopNeed],
    shifts: Sequence[Shift],
    *,
    travel_from_depots: Sequence[Sequence[int]],
    travel_to_depots: Sequence[Sequence[int]],
    service_min: int,
) -> list[RoutingError]:
    """List every stop no vehicle can serve alone, with why (before any optimisation runs).

    travel_from_depots[v][s] is minutes from vehicle v's depot to stop s, travel_to_depots
    the way back. An empty or inverted window, a window that closes before any vehicle can
    arrive or opens after all have gone home, and an order heavier than every vehicle are
    each an error naming the order.
    """
    problems = []
    for s, stop in enumerate(stops):
        start, end = stop.window
        if end <= start:
            problems.append(
                RoutingError(
                    "empty_window",
                    f"time window {_hhmm(start)}-{_hhmm(end)} is empty or inverted",
                    where=stop.name,
                )
            )
            continue
        if not any(stop.weight_g <= v.capacity_g for v in shifts):
            problems.append(
                RoutingError(
                    "too_heavy",
                    f"{stop.weight_g / 1000:g} kg is more than any vehicle carries",
                    where=stop.name,
                )
            )
            continue
        reachable = False
        for v, shift in enumerate(shifts):
            arrive = max(shift.window[0] + travel_from_depots[v][s], start)
            if arrive <= end and arrive + service_min + travel_to_depots[v][s] <= shift.window[1]:
                reachable = True
                break
        if not reachable:
            problems.append(
                RoutingError(
                    "window_unreachable",
                    f"time window {_hhmm(start)}-{_hhmm(end)} cannot be met by any vehicle's hours",
                    where=stop.name,
                )
            )
    return problems


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def sample_deadline(ready_min: int, limit_min: int, to_lab_min: int, service_min: int) -> int:
    """Return the latest pick-up minute that still brings a box ready at `ready_min` to the lab
    within the limit if driven straight there."""
    return ready_min + limit_min - to_lab_min - service_min
