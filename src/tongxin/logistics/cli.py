"""`tongxin logistics …`: drivers, vehicles, planning a day's trips, trip logs, sample transport.

Bad input (an order whose time window no vehicle can meet, an unknown depot, ...) names the
order or field on stderr in Chinese and English and exits 2, with nothing written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tongxin.commands import checked_session, emit, fail
from tongxin.supplies.cli import parse_day, parse_hhmm

app = typer.Typer(
    help="Drivers, vehicles, delivery trips and sample transport.", no_args_is_help=True
)


@app.command("driver-add")
def driver_add(
    name: str = typer.Option(..., help="Driver's name."),
    phone: str | None = typer.Option(None, help="Phone."),
    user: str | None = typer.Option(None, help="User name of the driver's account (phone view)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a volunteer driver."""
    from sqlalchemy import select

    from tongxin.accounts.models import User
    from tongxin.logistics import service

    with checked_session() as s:
        user_id = None
        if user is not None:
            user_id = s.scalar(select(User.id).where(User.username == user))
            if user_id is None:
                fail(f"用户不存在:{user}", f"no user {user!r}")
        d = service.add_driver(s, name=name, phone=phone, user_id=user_id)
        emit({"id": d.id}, as_json=as_json, text=f"driver {d.name} (#{d.id})")


@app.command("vehicle-add")
def vehicle_add(
    plate: str = typer.Option(..., help="Plate number."),
    driver: int = typer.Option(..., help="Driver id."),
    depot: str = typer.Option(..., help="Depot (warehouse) code."),
    capacity_kg: int = typer.Option(..., help="Load capacity in kg."),
    seats: int = typer.Option(4, help="Seats."),
    available_from: str = typer.Option("08:00", help="Daily start (China time)."),
    available_to: str = typer.Option("20:00", help="Daily end (China time)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a vehicle with capacity, seats, depot and daily hours."""
    from tongxin.logistics import service
    from tongxin.logistics.models import Driver
    from tongxin.supplies.service import warehouse_by_code

    with checked_session() as s:
        found = s.get(Driver, driver)
        if found is None:
            fail(f"司机不存在:{driver}", f"no driver {driver}")
        v = service.add_vehicle(
            s,
            plate=plate,
            driver=found,
            depot=warehouse_by_code(s, depot, where="--depot"),
            capacity_kg=capacity_kg,
            seats=seats,
            available_from=parse_hhmm(available_from, "--available-from"),
            available_to=parse_hhmm(available_to, "--available-to"),
        )
        emit({"id": v.id}, as_json=as_json, text=f"vehicle {v.plate} (#{v.id})")


@app.command("plan")
def plan(
    day: str = typer.Option(..., "--date", help="Delivery date YYYY-MM-DD."),
    replan: bool = typer.Option(False, help="First remove the day's trips with no delivery yet."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Plan the day's open delivery orders onto the fleet (CVRPTW with OR-Tools)."""
    from tongxin.logistics import service
    from tongxin.settings import get_settings

    when = parse_day(day)
    with checked_session() as s:
        if replan:
            service.unplan_day(s, day=when)
        summary = service.plan_day(s, day=when, settings=get_settings())
        out = summary.as_dict()
        out["routes"] = [
            {
                "trip": t.id,
                "vehicle": t.vehicle_id,
                "driver": t.driver_id,
                "km": round(t.distance_m / 1000, 1),
                "kg": t.weight_g / 1000,
                "stops": [
                    {
                        "order": st.order_id,
                        "eta": st.eta.isoformat(timespec="minutes"),
                        "address": st.address,
                    }
                    for st in service.trip_stops(s, t)
                ],
            }
            for t in service.trips_on(s, when)
            if t.id in summary.trips
        ]
    emit(
        out,
        as_json=as_json,
        text=(
            f"{out['trips']} trips, {out['stops']} stops, "
            f"{out['distance_km']} km, {out['weight_kg']} kg"
        ),
    )


@app.command("trip-log")
def trip_log(
    since: str | None = typer.Option(None, help="First day YYYY-MM-DD."),
    until: str | None = typer.Option(None, help="Last day YYYY-MM-DD."),
    xlsx: Path | None = typer.Option(None, help="Also write the log to this xlsx file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Trips, delivered tonnage and kilometres per driver."""
    from tongxin.logistics import service
    from tongxin.supplies.exports import TRIP_LOG_COLUMNS, table_workbook

    with checked_session() as s:
        rows = service.trip_log(
            s,
            since=parse_day(since, "--since") if since else None,
            until=parse_day(until, "--until") if until else None,
        )
    if xlsx is not None:
        table_workbook("出车记录", TRIP_LOG_COLUMNS, rows, by="cli").save(xlsx)
    emit(
        rows,
        as_json=as_json,
        text="\n".join(
            f"{r['driver']}\t{r['trips']} trips\t{r['delivered_kg']} kg\t{r['km']} km" for r in rows
        ),
    )


@app.command("samples")
def samples(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    ready: Path = typer.Option(..., help="CSV site,ready (HH:MM) of expected sealed boxes."),
    lab: str = typer.Option(..., help="Lab position LAT,LON."),
    couriers: int = typer.Option(..., help="Couriers available."),
    day: str = typer.Option(..., "--date", help="Day YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Plan courier trips so no sample exceeds the swab-to-lab limit; list trips at risk."""
    from tongxin.logistics import samples as transport
    from tongxin.settings import get_settings

    when = parse_day(day)
    try:
        lat, lon = (float(x) for x in lab.split(","))
    except ValueError:
        fail(f"--lab 应为 纬度,经度:{lab!r}", f"--lab must be LAT,LON: {lab!r}")
    if not ready.is_file():
        fail(f"文件不存在:{ready}", f"no file {ready}")
    from tongxin.screening.setup import SetupError

    with checked_session() as s:
        try:
            boxes = transport.boxes_of_round(
                s, round_code=round_code, ready=transport.read_ready_file(ready)
            )
        except SetupError:
            fail(f"轮次不存在:{round_code}", f"no round {round_code!r}")
        trips, unplanned = transport.plan_pickups(
            boxes, lab=(lat, lon), couriers=couriers, settings=get_settings()
        )
    out = transport.trips_as_json(when, trips, unplanned)
    emit(
        out,
        as_json=as_json,
        text=f"{len(trips)} trips, {out['trips_at_risk']} at risk, {len(unplanned)} unplanned",
    )
