"""Sample transport: courier trips that bring sealed boxes from a round's sites to the lab in time.

Each expected box (a site and the minute it will be sealed) is a pick-up. A courier's day
is cut into trip slots (04:00-08:00, 08:00-12:00, ...), as couriers in 2022 made 4-5 trips
a day from 4 a.m.; each slot is a vehicle that leaves the lab and comes back, so a
courier's trips never overlap. A pick-up must happen early enough that, driven straight to
the lab, the box is inside the limit (`swab_to_receipt_hours`, 4 h). After solving, each
box's real age at the lab is computed from its trip: over the limit is `late`, within
`RISK_MARGIN_MIN` of it is `at_risk`, a box no trip could take is `unplanned`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.logistics import routing, rules
from tongxin.logistics.rules import RoutingError
from tongxin.registry.models import Area
from tongxin.screening.models import Site
from tongxin.screening.setup import round_by_code
from tongxin.settings import Settings

RISK_MARGIN_MIN = 30
FIRST_SLOT_MIN = 4 * 60
SLOT_MIN = 4 * 60
SLOTS = 5
BOXES_PER_TRIP = 30


@dataclass(frozen=True)
class BoxReady:
    """A box expected at a site: where (code, point) and the minute it is sealed."""

    site: str
    point: rules.Point
    ready: int


@dataclass(frozen=True)
class Pickup:
    """A planned pick-up and the box's age when the trip reaches the lab."""

    site: str
    ready: int
    pickup: int | None
    at_lab: int | None
    age_min: int | None
    status: str  # ok | at_risk | late | unplanned


@dataclass(frozen=True)
class CourierTrip:
    """One courier trip: who, when it leaves and returns to the lab, what it picks up."""

    courier: int
    slot: int
    leave: int
    back: int
    distance_m: int
    pickups: list[Pickup]

    @property
    def at_risk(self) -> bool:
        """Tell whether any box of this trip is late or close to the limit."""
        return any(p.status != "ok" for p in self.pickups)


def box_status(age_min: int, limit_min: int) -> str:
    """Return `late` past the limit, `at_risk` within `RISK_MARGIN_MIN` of it, else `ok`."""
    if age_min > limit_min:
        return "late"
    return "at_risk" if age_min > limit_min - RISK_MARGIN_MIN else "ok"


def plan_pickups(
    boxes: Sequence[BoxReady],
    *,
    lab: rules.Point,
    couriers: int,
    settings: Settings,
    time_limit_s: float | None = None,
) -> tuple[list[CourierTrip], list[Pickup]]:
    """Plan courier trips for the boxes; return the trips and the boxes left unplanned."""
    if couriers <= 0:
        raise RoutingError("no_couriers", "at least one courier is needed", where="--couriers")
    if not boxes:
        raise RoutingError("nothing_to_plan", "no boxes expected", where="boxes")
    limit = settings.swab_to_receipt_hours * 60
    service = settings.route_service_minutes
    points = [lab] + [b.point for b in boxes]
    metres = rules.distance_matrix(points, detour=settings.route_detour_factor)
    minutes = [[rules.minutes_for(d, settings.route_speed_kmh) for d in row] for row in metres]
    stops = []
    for k, box in enumerate(boxes):
        latest = rules.sample_deadline(box.ready, limit, minutes[k + 1][0], service)
        stops.append(
            routing.Stop(
                name=f"{box.site}@{box.ready}",
                demand_g=1,
                window=(box.ready, max(box.ready, latest)),
                service_min=service,
            )
        )
    vehicles = [
        routing.Vehicle(
            name=f"courier {c + 1} trip {s + 1}",
            depot=0,
            capacity_g=BOXES_PER_TRIP,
            shift=(FIRST_SLOT_MIN + s * SLOT_MIN, FIRST_SLOT_MIN + (s + 1) * SLOT_MIN),
        )
        for c in range(couriers)
        for s in range(SLOTS)
    ]
    problem = routing.Problem(
        depots=1, vehicles=vehicles, stops=stops, distance_m=metres, travel_min=minutes
    )
    solution = routing.solve(
        problem,
        time_limit_s=time_limit_s
        or routing.time_limit_for(len(stops), settings.route_time_limit_s),
    )
    trips = []
    for route in solution.routes:
        pickups = []
        for visit in route.visits:
            box = boxes[visit.stop]
            age = route.back - box.ready
            status = box_status(age, limit)
            pickups.append(Pickup(box.site, box.ready, visit.arrive, route.back, age, status))
        trips.append(
            CourierTrip(
                courier=route.vehicle // SLOTS + 1,
                slot=route.vehicle % SLOTS + 1,
                leave=route.leave,
                back=route.back,
                distance_m=route.distance_m,
                pickups=pickups,
            )
        )
    trips.sort(key=lambda t: (t.courier, t.leave))
    unplanned = [
        Pickup(boxes[k].site, boxes[k].ready, None, None, None, "unplanned")
        for k in solution.dropped
    ]
    return trips, unplanned


def read_ready_file(path: Path) -> list[tuple[str, int]]:
    """Read `site,ready` rows (site code, HH:MM China time) of expected boxes."""
    out = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            site = (row.get("site") or "").strip()
            ready = (row.get("ready") or "").strip()
            try:
                hh, mm = ready.split(":")
                minute = int(hh) * 60 + int(mm)
            except ValueError:
                raise RoutingError(
                    "bad_ready_file", f"row {n}: ready {ready!r} is not HH:MM", where=str(path)
                ) from None
            if not site or not 0 <= minute < 24 * 60:
                raise RoutingError(
                    "bad_ready_file", f"row {n}: needs a site and a time of day", where=str(path)
                )
            out.append((site, minute))
    return out


def boxes_of_round(
    session: Session, *, round_code: str, ready: Sequence[tuple[str, int]]
) -> list[BoxReady]:
    """Place each expected box at its site's coordinates (the site's area, else its parents)."""
    rnd = round_by_code(session, round_code)
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.round_id == rnd.id))}
    out = []
    for code, minute in ready:
        site = sites.get(code)
        if site is None:
            raise RoutingError(
                "unknown_site", f"round {round_code} has no site {code!r}", where="ready file"
            )
        out.append(BoxReady(site=code, point=_point_of(session, site.area_id, code), ready=minute))
    return out


def _point_of(session: Session, area_id: int, site: str) -> rules.Point:
    area = session.get(Area, area_id)
    while area is not None:
        if area.latitude is not None and area.longitude is not None:
            return (area.latitude, area.longitude)
        area = session.get(Area, area.parent_id) if area.parent_id else None
    raise RoutingError("no_coordinates", f"site {site} has no coordinates in its area", where=site)


def clock(minute: int | None) -> str | None:
    """Format a minute of the day as HH:MM."""
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def trips_as_json(
    day: date, trips: Sequence[CourierTrip], unplanned: Sequence[Pickup]
) -> dict[str, object]:
    """Return a sample-transport plan for JSON output."""

    def pickup(p: Pickup) -> dict[str, object]:
        return {
            "site": p.site,
            "ready": clock(p.ready),
            "pickup": clock(p.pickup),
            "at_lab": clock(p.at_lab),
            "age_min": p.age_min,
            "status": p.status,
        }

    return {
        "date": day.isoformat(),
        "trips": [
            {
                "courier": t.courier,
                "slot": t.slot,
                "leave": clock(t.leave),
                "back": clock(t.back),
                "km": round(t.distance_m / 1000, 1),
                "at_risk": t.at_risk,
                "pickups": [pickup(p) for p in t.pickups],
            }
            for t in trips
        ],
        "trips_at_risk": sum(1 for t in trips if t.at_risk),
        "unplanned": [pickup(p) for p in unplanned],
    }
