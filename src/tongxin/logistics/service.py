"""Logistics use cases: the fleet, planning a day's delivery trips, proof of delivery, trip logs.

`plan_day` turns the day's open delivery orders into trips: it checks every order can be
served at all (rules.infeasible_stops) and refuses the plan naming each one that cannot,
then solves the CVRPTW (routing.solve) and writes trips and stops. Nothing is written when
any order is refused or left out.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tongxin.audit.context import Actor
from tongxin.logistics import routing, rules
from tongxin.logistics.models import Driver, Trip, TripStop, Vehicle
from tongxin.logistics.rules import RoutingError
from tongxin.settings import Settings
from tongxin.supplies import allocation
from tongxin.supplies.allocation import CHINA
from tongxin.supplies.models import DeliveryOrder, Warehouse


def add_driver(
    session: Session, *, name: str, phone: str | None = None, user_id: int | None = None
) -> Driver:
    """Register a volunteer driver (optionally linked to the account they sign in with)."""
    if not name.strip():
        raise RoutingError("missing", "driver name is empty", where="driver.name")
    if len(name.strip()) > 60:
        raise RoutingError("too_long", "at most 60 characters", where="driver.name")
    phone = (phone or "").strip() or None
    if phone is not None and len(phone) > 20:
        raise RoutingError("too_long", "at most 20 characters", where="driver.phone")
    if (
        user_id is not None
        and session.scalar(select(Driver.id).where(Driver.user_id == user_id)) is not None
    ):
        raise RoutingError(
            "exists", "this account already drives as another driver", where="driver.user"
        )
    driver = Driver(name=name.strip(), phone=phone, user_id=user_id)
    session.add(driver)
    session.flush()
    return driver


def add_vehicle(
    session: Session,
    *,
    plate: str,
    driver: Driver,
    depot: Warehouse,
    capacity_kg: int,
    seats: int = 4,
    available_from: time = time(8, 0),
    available_to: time = time(20, 0),
) -> Vehicle:
    """Register a vehicle with its capacity, seats, home depot and daily hours."""
    plate = plate.strip()
    if not plate:
        raise RoutingError("missing", "plate is empty", where="vehicle.plate")
    if len(plate) > 20:
        raise RoutingError("too_long", "at most 20 characters", where="vehicle.plate")
    if session.scalar(select(Vehicle.id).where(Vehicle.plate == plate)) is not None:
        raise RoutingError("exists", f"vehicle {plate} exists", where="vehicle.plate")
    if capacity_kg <= 0:
        raise RoutingError(
            "bad_capacity",
            f"capacity {capacity_kg} kg must be above zero",
            where="vehicle.capacity_kg",
        )
    if seats <= 0:
        raise RoutingError("bad_value", f"{seats} seats", where="vehicle.seats")
    if available_to <= available_from:
        raise RoutingError(
            "empty_window",
            f"hours {available_from:%H:%M}-{available_to:%H:%M} are empty",
            where="vehicle.available_to",
        )
    if depot.latitude is None or depot.longitude is None:
        raise RoutingError(
            "no_coordinates", f"depot {depot.code} has no coordinates", where="vehicle.depot"
        )
    vehicle = Vehicle(
        plate=plate,
        driver_id=driver.id,
        depot_id=depot.id,
        capacity_kg=capacity_kg,
        seats=seats,
        available_from=available_from,
        available_to=available_to,
    )
    session.add(vehicle)
    session.flush()
    return vehicle


def load_distance_file(
    path: str | Path,
) -> dict[tuple[tuple[float, float], tuple[float, float]], int]:
    """Read a road distance file: CSV with from_lat,from_lon,to_lat,to_lon,metres per line."""
    out: dict[tuple[tuple[float, float], tuple[float, float]], int] = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            try:
                a = rules.point_key((float(row["from_lat"]), float(row["from_lon"])))
                b = rules.point_key((float(row["to_lat"]), float(row["to_lon"])))
                metres = int(float(row["metres"]))
            except (KeyError, TypeError, ValueError):
                raise RoutingError(
                    "bad_distance_file",
                    f"row {n} needs from_lat,from_lon,to_lat,to_lon,metres",
                    where=str(path),
                ) from None
            if metres < 0:
                raise RoutingError(
                    "bad_distance_file", f"row {n}: negative metres", where=str(path)
                )
            out[(a, b)] = metres
    return out


def _minute(day: date, instant: datetime) -> int:
    midnight = datetime.combine(day, time(0, 0), tzinfo=CHINA)
    return int((instant - midnight).total_seconds() // 60)


def _instant(day: date, minute: int) -> datetime:
    return (datetime.combine(day, time(0, 0), tzinfo=CHINA) + timedelta(minutes=minute)).astimezone(
        UTC
    )


@dataclass(frozen=True)
class PlanSummary:
    """What a plan made: trips, stops, metres, grams, seconds solving, orders left out."""

    day: date
    trips: list[int]
    stops: int
    distance_m: int
    weight_g: int
    solve_s: float

    def as_dict(self) -> dict[str, object]:
        """Return the summary for JSON."""
        return {
            "date": self.day.isoformat(),
            "trips": len(self.trips),
            "trip_ids": self.trips,
            "stops": self.stops,
            "distance_km": round(self.distance_m / 1000, 1),
            "weight_kg": self.weight_g / 1000,
            "solve_s": round(self.solve_s, 2),
        }


def plan_day(
    session: Session, *, day: date, settings: Settings, vehicle_ids: Sequence[int] | None = None
) -> PlanSummary:
    """Plan the day's open delivery orders onto the fleet; refuse naming any unservable order."""
    orders = [o for o in allocation.orders_on(session, day, statuses=("open",))]
    if not orders:
        raise RoutingError("nothing_to_plan", f"no open delivery orders on {day}", where="date")
    q = select(Vehicle).order_by(Vehicle.id)
    if vehicle_ids is not None:
        q = q.where(Vehicle.id.in_(vehicle_ids))
    vehicles = list(session.scalars(q))
    if not vehicles:
        raise RoutingError("no_vehicles", "no vehicles to plan with", where="fleet")
    depots = sorted({v.depot_id for v in vehicles})
    depot_rows = {
        w.id: w for w in session.scalars(select(Warehouse).where(Warehouse.id.in_(depots)))
    }
    points: list[rules.Point] = [
        (depot_rows[d].latitude or 0.0, depot_rows[d].longitude or 0.0) for d in depots
    ]
    points += [(o.latitude, o.longitude) for o in orders]
    supplied = (
        load_distance_file(settings.route_distance_matrix)
        if settings.route_distance_matrix
        else None
    )
    metres = rules.distance_matrix(points, detour=settings.route_detour_factor, supplied=supplied)
    minutes = [[rules.minutes_for(d, settings.route_speed_kmh) for d in row] for row in metres]
    service = settings.route_service_minutes
    shifts = [
        rules.Shift(
            name=v.plate,
            window=(
                v.available_from.hour * 60 + v.available_from.minute,
                v.available_to.hour * 60 + v.available_to.minute,
            ),
            capacity_g=v.capacity_kg * 1000,
        )
        for v in vehicles
    ]
    depot_index = {d: i for i, d in enumerate(depots)}
    n_depots = len(depots)
    stops = [
        rules.StopNeed(
            name=f"order {o.id} ({o.address})",
            weight_g=o.weight_g,
            window=(_minute(day, o.window_start), _minute(day, o.window_end)),
        )
        for o in orders
    ]
    problems = rules.infeasible_stops(
        stops,
        shifts,
        travel_from_depots=[
            [minutes[depot_index[v.depot_id]][n_depots + s] for s in range(len(stops))]
            for v in vehicles
        ],
        travel_to_depots=[
            [minutes[n_depots + s][depot_index[v.depot_id]] for s in range(len(stops))]
            for v in vehicles
        ],
        service_min=service,
    )
    if problems:
        raise (
            problems[0]
            if len(problems) == 1
            else RoutingError(
                problems[0].code,
                "; ".join(f"{p.where}: {p.message}" for p in problems),
                where=f"{len(problems)} orders",
            )
        )
    problem = routing.Problem(
        depots=n_depots,
        vehicles=[
            routing.Vehicle(
                name=v.plate, depot=depot_index[v.depot_id], capacity_g=s.capacity_g, shift=s.window
            )
            for v, s in zip(vehicles, shifts, strict=True)
        ],
        stops=[
            routing.Stop(
                name=s.name,
                demand_g=s.weight_g,
                window=s.window,
                service_min=service,
                urgent=o.urgency == "urgent",
            )
            for s, o in zip(stops, orders, strict=True)
        ],
        distance_m=metres,
        travel_min=minutes,
        points=points,
    )
    solution = routing.solve(
        problem, time_limit_s=routing.time_limit_for(len(stops), settings.route_time_limit_s)
    )
    if solution.dropped:
        names = ", ".join(stops[k].name for k in solution.dropped[:10])
        raise RoutingError(
            "not_all_fit",
            f"{len(solution.dropped)} orders do not fit the fleet's capacity and hours: {names}",
            where="plan",
        )
    trip_ids = []
    for route in solution.routes:
        v = vehicles[route.vehicle]
        trip = Trip(
            day=day,
            kind="supplies",
            vehicle_id=v.id,
            driver_id=v.driver_id,
            depot_id=v.depot_id,
            distance_m=route.distance_m,
            weight_g=route.load_g,
            starts_at=_instant(day, route.leave),
            ends_at=_instant(day, route.back),
            status="planned",
        )
        session.add(trip)
        session.flush()
        trip_ids.append(trip.id)
        for seq, visit in enumerate(route.visits, 1):
            order = orders[visit.stop]
            session.add(
                TripStop(
                    trip_id=trip.id,
                    seq=seq,
                    delivery_order_id=order.id,
                    eta=_instant(day, visit.arrive),
                    latitude=order.latitude,
                    longitude=order.longitude,
                )
            )
            order.status = "planned"
    session.flush()
    return PlanSummary(
        day=day,
        trips=trip_ids,
        stops=len(orders),
        distance_m=solution.distance_m,
        weight_g=sum(r.load_g for r in solution.routes),
        solve_s=solution.solve_s,
    )


def unplan_day(session: Session, *, day: date) -> int:
    """Remove a day's trips that have no delivery yet, so the day can be planned again."""
    trips = list(session.scalars(select(Trip).where(Trip.day == day, Trip.status == "planned")))
    removed = 0
    for trip in trips:
        order_ids = list(
            session.scalars(select(TripStop.delivery_order_id).where(TripStop.trip_id == trip.id))
        )
        delivered = session.scalar(
            select(func.count())
            .select_from(DeliveryOrder)
            .where(DeliveryOrder.id.in_(order_ids), DeliveryOrder.status == "delivered")
        )
        if delivered:
            continue
        for order in session.scalars(select(DeliveryOrder).where(DeliveryOrder.id.in_(order_ids))):
            order.status = "open"
        session.execute(delete(TripStop).where(TripStop.trip_id == trip.id))
        session.delete(trip)
        removed += 1
    session.flush()
    return removed


@dataclass(frozen=True)
class StopView:
    """A stop as the driver and the dispatch board show it."""

    stop_id: int
    seq: int
    order_id: int
    recipient: str
    address: str
    eta: datetime
    window_start: datetime
    window_end: datetime
    weight_g: int
    urgency: str
    status: str
    latitude: float
    longitude: float


def trip_stops(session: Session, trip: Trip) -> list[StopView]:
    """Return a trip's stops in driving order with what the driver needs at each."""
    from tongxin.supplies.models import Recipient

    rows = session.execute(
        select(TripStop, DeliveryOrder, Recipient.name)
        .join(DeliveryOrder, DeliveryOrder.id == TripStop.delivery_order_id)
        .join(Recipient, Recipient.id == DeliveryOrder.recipient_id)
        .where(TripStop.trip_id == trip.id)
        .order_by(TripStop.seq)
    ).all()
    return [
        StopView(
            stop_id=stop.id,
            seq=stop.seq,
            order_id=order.id,
            recipient=name,
            address=order.address,
            eta=stop.eta,
            window_start=order.window_start,
            window_end=order.window_end,
            weight_g=order.weight_g,
            urgency=order.urgency,
            status=order.status,
            latitude=stop.latitude,
            longitude=stop.longitude,
        )
        for stop, order, name in rows
    ]


def confirm_stop(
    session: Session,
    *,
    trip: Trip,
    order_id: int,
    pin: str | None,
    signature_svg: str | None,
    at: datetime,
    actor: Actor,
) -> None:
    """Confirm a delivery of this trip with the recipient's PIN or signature; close the trip
    when its last stop is delivered."""
    stop = session.scalar(
        select(TripStop).where(TripStop.trip_id == trip.id, TripStop.delivery_order_id == order_id)
    )
    if stop is None:
        raise RoutingError(
            "not_on_trip", f"order {order_id} is not on trip {trip.id}", where="order"
        )
    order = session.get_one(DeliveryOrder, order_id)
    allocation.confirm_delivery(
        session, order=order, pin=pin, signature_svg=signature_svg, at=at, actor=actor
    )
    left = session.scalar(
        select(func.count())
        .select_from(TripStop)
        .join(DeliveryOrder, DeliveryOrder.id == TripStop.delivery_order_id)
        .where(TripStop.trip_id == trip.id, DeliveryOrder.status != "delivered")
    )
    if not left:
        trip.status = "done"
    session.flush()


def trip_log(
    session: Session, *, since: date | None = None, until: date | None = None
) -> list[dict[str, object]]:
    """Return per driver: trips, delivered tonnage and planned kilometres of their trips."""
    delivered = (
        select(
            TripStop.trip_id, func.sum(DeliveryOrder.weight_g).label("g"), func.count().label("n")
        )
        .join(DeliveryOrder, DeliveryOrder.id == TripStop.delivery_order_id)
        .where(DeliveryOrder.status == "delivered")
        .group_by(TripStop.trip_id)
        .subquery()
    )
    q = (
        select(
            Driver.id,
            Driver.name,
            func.count(Trip.id),
            func.coalesce(func.sum(Trip.distance_m), 0),
            func.coalesce(func.sum(delivered.c.g), 0),
            func.coalesce(func.sum(delivered.c.n), 0),
        )
        .join(Trip, Trip.driver_id == Driver.id)
        .outerjoin(delivered, delivered.c.trip_id == Trip.id)
        .group_by(Driver.id, Driver.name)
        .order_by(Driver.name)
    )
    if since is not None:
        q = q.where(Trip.day >= since)
    if until is not None:
        q = q.where(Trip.day <= until)
    return [
        {
            "driver": name,
            "trips": int(trips),
            "km": round(int(metres) / 1000, 1),
            "delivered_kg": int(grams) / 1000,
            "deliveries": int(n),
        }
        for _id, name, trips, metres, grams, n in session.execute(q)
    ]


def trips_on(session: Session, day: date) -> list[Trip]:
    """Return a day's trips in id order."""
    return list(session.scalars(select(Trip).where(Trip.day == day).order_by(Trip.id)))


def driver_of_user(session: Session, user_id: int) -> Driver | None:
    """Return the driver record linked to an account, if any."""
    return session.scalar(select(Driver).where(Driver.user_id == user_id))
