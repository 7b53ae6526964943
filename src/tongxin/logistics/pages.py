"""Logistics pages: the dispatch board (trips on an SVG map drawn from coordinates, no tiles),
printable trip sheets, the trip log, and the driver's phone view with proof of delivery.

A driver (role volunteer) sees only trips of the driver record linked to their account; a
supplies officer sees every trip.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission, may
from tongxin.audit.context import web_actor
from tongxin.logistics import service
from tongxin.logistics.models import Driver, Trip, Vehicle
from tongxin.problems import InputProblem
from tongxin.supplies import allocation, exports
from tongxin.supplies.allocation import CHINA
from tongxin.supplies.models import Warehouse
from tongxin.supplies.pages import xlsx_response
from tongxin.supplies.rules import pin_attempts_left
from tongxin.supplies.service import warehouse_by_code
from tongxin.web.deps import RequestSession, page_user, requires
from tongxin.web.templating import render

router = APIRouter(include_in_schema=False)
MANAGE = requires(Permission.SUPPLIES_MANAGE)
DRIVE = requires(Permission.SHIFTS_SIGN_UP)
COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7ea4", "#cf222e", "#6e7781"]
MAP_W, MAP_H, MAP_PAD = 640, 420, 16


def _day(raw: str | None) -> date:
    if not raw:
        return datetime.now(CHINA).date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HTTPException(status_code=400) from None


def map_of(
    depots: list[Warehouse], trips: list[tuple[Trip, list[service.StopView]]]
) -> dict[str, Any]:
    """Project depots and stops onto an SVG box (equirectangular, scaled to fit)."""
    points = [(d.latitude or 0.0, d.longitude or 0.0) for d in depots]
    points += [(s.latitude, s.longitude) for _, stops in trips for s in stops]
    if not points:
        return {"w": MAP_W, "h": MAP_H, "depots": [], "routes": []}
    lat_lo, lat_hi = min(p[0] for p in points), max(p[0] for p in points)
    lon_lo, lon_hi = min(p[1] for p in points), max(p[1] for p in points)
    span = max(lat_hi - lat_lo, lon_hi - lon_lo, 1e-4)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        scale = min(MAP_W, MAP_H) - 2 * MAP_PAD
        return (
            round(MAP_PAD + (lon - lon_lo) / span * scale, 1),
            round(MAP_H - MAP_PAD - (lat - lat_lo) / span * scale, 1),
        )

    depot_xy = {d.id: xy(d.latitude or 0.0, d.longitude or 0.0) for d in depots}
    routes = []
    for i, (trip, stops) in enumerate(trips):
        home = depot_xy.get(trip.depot_id, (0.0, 0.0))
        path = [home] + [xy(s.latitude, s.longitude) for s in stops] + [home]
        routes.append(
            {
                "trip": trip.id,
                "colour": COLOURS[i % len(COLOURS)],
                "points": " ".join(f"{x},{y}" for x, y in path),
                "stops": [(x, y, s) for (x, y), s in zip(path[1:-1], stops, strict=True)],
            }
        )
    return {
        "w": MAP_W,
        "h": MAP_H,
        "depots": [(depot_xy[d.id], d) for d in depots],
        "routes": routes,
    }


def _board(
    request: Request,
    session: Session,
    day: date,
    *,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    trips = service.trips_on(session, day)
    with_stops = [(t, service.trip_stops(session, t)) for t in trips]
    depots = list(
        session.scalars(select(Warehouse).where(Warehouse.kind == "depot").order_by(Warehouse.code))
    )
    drivers = dict(session.execute(select(Driver.id, Driver.name)).tuples().all())
    plates = dict(session.execute(select(Vehicle.id, Vehicle.plate)).tuples().all())
    from tongxin.supplies.allocation import orders_on

    orders = orders_on(session, day)
    return render(
        request,
        "logistics/dispatch.html",
        {
            "day": day,
            "trips": with_stops,
            "map": map_of(depots, with_stops),
            "drivers": drivers,
            "plates": plates,
            "open_orders": sum(1 for o in orders if o.status == "open"),
            "orders": len(orders),
            "vehicles": len(plates),
            "log": service.trip_log(session, since=day, until=day),
            "problem": problem,
            "china": CHINA,
        },
        status_code=status_code,
    )


@router.get("/logistics/dispatch", dependencies=[MANAGE])
def dispatch_board(
    request: Request, day: str | None = None, session: Session = RequestSession
) -> Response:
    """Show a day's delivery orders, trips on a map, and per-driver figures."""
    return _board(request, session, _day(day))


@router.post("/logistics/dispatch/plan", dependencies=[MANAGE])
def plan_trips(
    request: Request, day: str = Form(""), session: Session = RequestSession
) -> Response:
    """Plan the day's open orders onto the fleet; an unservable order is named, nothing changes."""
    when = _day(day)
    try:
        service.plan_day(session, day=when, settings=request.app.state.settings)
    except InputProblem as exc:
        session.rollback()
        problem = exc.as_dict()
        return _board(request, session, when, problem=problem, status_code=422)
    return RedirectResponse(f"/logistics/dispatch?day={when.isoformat()}", status_code=303)


@router.get("/logistics/trip-log.xlsx", dependencies=[MANAGE])
def trip_log_xlsx(session: Session = RequestSession, user: User = Depends(page_user)) -> Response:
    """Download trips, tonnage and kilometres per driver as xlsx."""
    book = exports.table_workbook(
        "出车记录", exports.TRIP_LOG_COLUMNS, service.trip_log(session), by=user.username
    )
    return xlsx_response(book, "trip-log.xlsx")


def _trip(session: Session, trip_id: int, user: User) -> Trip:
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise HTTPException(status_code=404)
    if not may(user.role, Permission.SUPPLIES_MANAGE):
        driver = service.driver_of_user(session, user.id)
        if driver is None or driver.id != trip.driver_id:
            raise HTTPException(status_code=404)
    return trip


def _sheet(
    request: Request,
    session: Session,
    trip: Trip,
    *,
    phone: bool,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    stops = service.trip_stops(session, trip)
    # Stops whose PIN took too many wrong tries: the phone offers only the signature there.
    wrong = allocation.wrong_pins(
        session, [st.order_id for st in stops if st.status != "delivered"]
    )
    return render(
        request,
        "logistics/trip.html",
        {
            "trip": trip,
            "stops": stops,
            "pin_locked": {o for o, n in wrong.items() if pin_attempts_left(n) == 0},
            "driver": session.get_one(Driver, trip.driver_id),
            "vehicle": session.get_one(Vehicle, trip.vehicle_id),
            "phone": phone,
            "problem": problem,
            "china": CHINA,
        },
        status_code=status_code,
    )


@router.get("/logistics/trips/{trip_id}", dependencies=[MANAGE])
def trip_sheet(
    request: Request,
    trip_id: int,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Show a printable trip sheet: stops in order with ETAs, windows and weights."""
    return _sheet(request, session, _trip(session, trip_id, user), phone=False)


@router.get("/logistics/driver", dependencies=[DRIVE])
def driver_home(
    request: Request, session: Session = RequestSession, user: User = Depends(page_user)
) -> Response:
    """Show the signed-in driver's trips, today's first."""
    driver = service.driver_of_user(session, user.id)
    trips = (
        list(
            session.scalars(
                select(Trip).where(Trip.driver_id == driver.id).order_by(Trip.day.desc(), Trip.id)
            )
        )
        if driver
        else []
    )
    return render(
        request, "logistics/driver.html", {"driver": driver, "trips": trips, "china": CHINA}
    )


@router.get("/logistics/driver/trips/{trip_id}", dependencies=[DRIVE])
def driver_trip(
    request: Request,
    trip_id: int,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Show a trip on the driver's phone, with a PIN or signature confirmation per stop."""
    return _sheet(request, session, _trip(session, trip_id, user), phone=True)


@router.post("/logistics/driver/trips/{trip_id}/confirm", dependencies=[DRIVE])
def confirm_delivery(
    request: Request,
    trip_id: int,
    order: int = Form(...),
    pin: str = Form(""),
    signature: str = Form(""),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Confirm one delivery with the recipient's PIN or signature; a wrong PIN changes nothing."""
    trip = _trip(session, trip_id, user)
    try:
        service.confirm_stop(
            session,
            trip=trip,
            order_id=order,
            pin=pin or None,
            signature_svg=signature or None,
            at=datetime.now(UTC),
            actor=web_actor(request, user),
        )
    except InputProblem as exc:
        if exc.code != "wrong_pin":
            session.rollback()
        # else: a wrong PIN wrote only its audit entry, which the attempt limit counts, so it
        # is committed with the answer.
        problem = exc.as_dict()
        return _sheet(
            request,
            session,
            session.get_one(Trip, trip_id),
            phone=True,
            problem=problem,
            status_code=422,
        )
    return RedirectResponse(f"/logistics/driver/trips/{trip_id}#order-{order}", status_code=303)


# The fleet set-up pages: what `tongxin logistics driver-add` and `vehicle-add` do, through
# the same service functions.
def _fleet_page(
    request: Request,
    session: Session,
    template: str,
    *,
    problem: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    added: str | None = None,
    status_code: int = 200,
) -> Response:
    drivers = list(session.scalars(select(Driver).order_by(Driver.id)))
    usernames = dict(
        session.execute(
            select(User.id, User.username).where(
                User.id.in_([d.user_id for d in drivers if d.user_id is not None])
            )
        )
        .tuples()
        .all()
    )
    return render(
        request,
        template,
        {
            "drivers": drivers,
            "usernames": usernames,
            "vehicles": list(session.scalars(select(Vehicle).order_by(Vehicle.plate))),
            "driver_names": {d.id: d.name for d in drivers},
            "depots": list(
                session.scalars(
                    select(Warehouse).where(Warehouse.kind == "depot").order_by(Warehouse.code)
                )
            ),
            "depot_names": dict(
                session.execute(select(Warehouse.id, Warehouse.name)).tuples().all()
            ),
            "problem": problem,
            "form": form or {},
            "added": added,
        },
        status_code=status_code,
    )


@router.get("/logistics/drivers", dependencies=[MANAGE])
def drivers_page(
    request: Request, added: str | None = None, session: Session = RequestSession
) -> Response:
    """List volunteer drivers and show the form to add one."""
    return _fleet_page(request, session, "logistics/drivers.html", added=added)


@router.post("/logistics/drivers", dependencies=[MANAGE])
async def add_driver(request: Request, session: Session = RequestSession) -> Response:
    """Add a driver, optionally linked to the account they sign in with on the phone."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        username = values.get("username", "").strip()
        user_id = None
        if username:
            user_id = session.scalar(select(User.id).where(User.username == username))
            if user_id is None:
                raise InputProblem("unknown_user", f"no account {username!r}", where="driver.user")
        driver = service.add_driver(
            session, name=values.get("name", ""), phone=values.get("phone"), user_id=user_id
        )
    except InputProblem as exc:
        session.rollback()
        return _fleet_page(
            request,
            session,
            "logistics/drivers.html",
            problem=exc.as_dict(),
            form=values,
            status_code=422,
        )
    return RedirectResponse(f"/logistics/drivers?added={driver.name}", status_code=303)


@router.get("/logistics/vehicles", dependencies=[MANAGE])
def vehicles_page(
    request: Request, added: str | None = None, session: Session = RequestSession
) -> Response:
    """List vehicles and show the form to add one."""
    return _fleet_page(request, session, "logistics/vehicles.html", added=added)


def _whole(raw: str, where: str) -> int:
    raw = raw.strip()
    if not raw.lstrip("-").isdigit():
        raise InputProblem("bad_value", f"{raw!r} is not a whole number", where=where)
    return int(raw)


def _hhmm(raw: str, where: str) -> time:
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise InputProblem("bad_value", f"{raw!r} is not HH:MM", where=where) from None


@router.post("/logistics/vehicles", dependencies=[MANAGE])
async def add_vehicle(request: Request, session: Session = RequestSession) -> Response:
    """Add a vehicle with its driver, home depot, capacity and daily hours."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        driver_id = _whole(values.get("driver", ""), "vehicle.driver")
        driver = session.get(Driver, driver_id)
        if driver is None:
            raise InputProblem("missing", f"no driver {driver_id}", where="vehicle.driver")
        vehicle = service.add_vehicle(
            session,
            plate=values.get("plate", ""),
            driver=driver,
            depot=warehouse_by_code(session, values.get("depot", ""), where="vehicle.depot"),
            capacity_kg=_whole(values.get("capacity_kg", ""), "vehicle.capacity_kg"),
            seats=_whole(values.get("seats", "4") or "4", "vehicle.seats"),
            available_from=_hhmm(values.get("available_from", "08:00"), "vehicle.available_from"),
            available_to=_hhmm(values.get("available_to", "20:00"), "vehicle.available_to"),
        )
    except InputProblem as exc:
        session.rollback()
        return _fleet_page(
            request,
            session,
            "logistics/vehicles.html",
            problem=exc.as_dict(),
            form=values,
            status_code=422,
        )
    return RedirectResponse(f"/logistics/vehicles?added={vehicle.plate}", status_code=303)
