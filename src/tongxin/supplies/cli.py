"""`tongxin supplies …`: warehouses, items, packages, donors, donations, stock and allocations.

Every command runs in one transaction and takes `--json`. Bad input (unknown unit, negative
quantity, more than is in stock, ...) names what and where on stderr in Chinese and English
and exits 2, with nothing written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import typer

from tongxin.commands import checked_session, emit, fail

app = typer.Typer(help="Donations, stock, packages and allocations.", no_args_is_help=True)

BY = "cli"


def parse_day(raw: str, option: str = "--date") -> date:
    """Parse YYYY-MM-DD or fail naming the option."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(
            f"{option} 不是日期 (YYYY-MM-DD):{raw!r}",
            f"{option} is not a date (YYYY-MM-DD): {raw!r}",
        )


def parse_hhmm(raw: str, option: str) -> time:
    """Parse HH:MM or fail naming the option."""
    try:
        return time.fromisoformat(raw)
    except ValueError:
        fail(f"{option} 不是时间 (HH:MM):{raw!r}", f"{option} is not a time (HH:MM): {raw!r}")


@app.command("warehouse-add")
def warehouse_add(
    code: str = typer.Option(..., help="Warehouse code, e.g. CK1."),
    name: str = typer.Option(..., help="Name, e.g. 白云区物资中转站."),
    kind: str = typer.Option("warehouse", help="warehouse or depot (vehicles start at depots)."),
    lat: float | None = typer.Option(None, help="Latitude (needed for depots)."),
    lon: float | None = typer.Option(None, help="Longitude (needed for depots)."),
    address: str | None = typer.Option(None, help="Street address."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a warehouse or depot."""
    from tongxin.supplies import service

    with checked_session() as s:
        w = service.add_warehouse(
            s, code=code, name=name, kind=kind, address=address, latitude=lat, longitude=lon
        )
        emit({"id": w.id, "code": w.code}, as_json=as_json, text=f"warehouse {w.code} added")


@app.command("item-add")
def item_add(
    code: str = typer.Option(..., help="Item code, e.g. VEG."),
    name: str = typer.Option(..., help="Name, e.g. 蔬菜."),
    unit: str = typer.Option(..., help="Stock unit: kg, t, bottle, box, piece, litre, m3."),
    unit_weight_g: int | None = typer.Option(None, help="Grams per unit (kg items: 1000)."),
    perishable: bool = typer.Option(False, help="Food or medicine: lots need expiry dates."),
    oxygen: bool = typer.Option(False, help="Oxygen kept as gas m³ (converts from t and bottles)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a stock item."""
    from tongxin.supplies import service

    with checked_session() as s:
        item = service.add_item(
            s,
            code=code,
            name=name,
            unit=unit,
            unit_weight_g=unit_weight_g,
            perishable=perishable,
            oxygen=oxygen,
        )
        emit({"id": item.id, "code": item.code}, as_json=as_json, text=f"item {item.code} added")


@app.command("package-define")
def package_define(
    code: str = typer.Option(..., help="Package code, e.g. PKG-VEG."),
    name: str = typer.Option(..., help="Name, e.g. 蔬菜包."),
    component: list[str] = typer.Option(..., help="ITEM:QUANTITY per package; repeat."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Define a package by its contents, e.g. --component VEG:5 --component RICE:1."""
    from tongxin.supplies import service

    lines = []
    for raw in component:
        item, sep, quantity = raw.partition(":")
        if not sep:
            fail(
                f"--component 应为 物资:数量:{raw!r}", f"--component must be ITEM:QUANTITY: {raw!r}"
            )
        lines.append((item, quantity))
    with checked_session() as s:
        p = service.define_package(s, code=code, name=name, components=lines)
        emit(
            {"id": p.id, "code": p.code, "weight_g": p.unit_weight_g},
            as_json=as_json,
            text=f"package {p.code}: {p.unit_weight_g / 1000:g} kg",
        )


@app.command("donor-add")
def donor_add(
    name: str = typer.Option(..., help="Donor name."),
    kind: str = typer.Option("enterprise", help="enterprise, organisation or individual."),
    contact: str | None = typer.Option(None, help="Contact person."),
    phone: str | None = typer.Option(None, help="Contact phone."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a donor."""
    from tongxin.supplies import service

    with checked_session() as s:
        d = service.add_donor(s, name=name, kind=kind, contact_name=contact, phone=phone)
        emit({"id": d.id, "name": d.name}, as_json=as_json, text=f"donor {d.name} (#{d.id})")


@app.command("receive")
def receive(
    donor: str = typer.Option(..., help="Donor name (registered with donor-add)."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    line: list[str] = typer.Option(..., help="ITEM:QUANTITY:UNIT[:EXPIRY YYYY-MM-DD]; repeat."),
    receipt: Path | None = typer.Option(None, help="Write the receipt (SVG with QR code) here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Book a donation into a warehouse and print its receipt number."""
    from sqlalchemy import select

    from tongxin.settings import get_settings
    from tongxin.supplies import receipts, service
    from tongxin.supplies.models import Donor

    lines = []
    for i, raw in enumerate(line, 1):
        parts = raw.split(":")
        if len(parts) not in (3, 4):
            fail(
                f"第 {i} 行应为 物资:数量:单位[:有效期]:{raw!r}",
                f"line {i} must be ITEM:QUANTITY:UNIT[:EXPIRY]: {raw!r}",
            )
        expiry = parse_day(parts[3], f"line {i} expiry") if len(parts) == 4 else None
        lines.append(service.IntakeLine(parts[0], parts[1], parts[2], expiry))
    with checked_session() as s:
        found = s.scalar(select(Donor).where(Donor.name == donor))
        if found is None:
            fail(f"捐赠方不存在:{donor}", f"no donor {donor!r} (add it with donor-add)")
        donation = service.receive_donation(
            s,
            donor=found,
            warehouse=service.warehouse_by_code(s, warehouse),
            lines=lines,
            at=datetime.now(UTC),
            by=BY,
            settings=get_settings(),
        )
        if receipt is not None:
            receipt.write_text(receipts.receipt_svg(s, donation), encoding="utf-8")
        emit(
            {"donation": donation.number, "id": donation.id},
            as_json=as_json,
            text=f"receipt {donation.number}",
        )


@app.command("stock")
def stock(
    xlsx: Path | None = typer.Option(None, help="Also write the stock list to this xlsx file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List stock on hand per warehouse, item and lot (summed from the ledger)."""
    from tongxin.supplies import exports, reports

    with checked_session() as s:
        rows = [r.as_dict() for r in reports.stock_on_hand(s)]
        if xlsx is not None:
            exports.stock_workbook(rows, by=BY).save(xlsx)
    text = "\n".join(
        f"{r['warehouse']}\t{r['item']}\t{r['lot']}\t{r['expires_on'] or '-'}\t"
        f"{r['free']} {r['unit']}\t(allocated {r['allocated']})"
        for r in rows
    )
    emit(rows, as_json=as_json, text=text or "no stock")


@app.command("assemble")
def assemble(
    package: str = typer.Option(..., help="Package code."),
    count: int = typer.Option(..., help="Packages to assemble."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Assemble packages from stock (earliest expiry first)."""
    from tongxin.supplies import service

    with checked_session() as s:
        a = service.assemble(
            s,
            package=service.item_by_code(s, package, where="--package"),
            packages=count,
            warehouse=service.warehouse_by_code(s, warehouse),
            at=datetime.now(UTC),
            by=BY,
        )
        emit(
            {"assembly": a.id, "packages": a.packages},
            as_json=as_json,
            text=f"assembled {a.packages}",
        )


@app.command("transfer")
def transfer(
    item: str = typer.Option(..., help="Item code."),
    quantity: str = typer.Option(..., help="Quantity in the item's unit."),
    source: str = typer.Option(..., "--from", help="Warehouse code to take from."),
    target: str = typer.Option(..., "--to", help="Warehouse code to put into."),
) -> None:
    """Move free stock between warehouses (lots kept)."""
    from tongxin.supplies import service

    with checked_session() as s:
        service.transfer(
            s,
            item=service.item_by_code(s, item),
            quantity=quantity,
            source=service.warehouse_by_code(s, source, where="--from"),
            target=service.warehouse_by_code(s, target, where="--to"),
            at=datetime.now(UTC),
            by=BY,
        )
        typer.echo("transferred")


@app.command("issue")
def issue(
    item: str = typer.Option(..., help="Item code."),
    quantity: str = typer.Option(..., help="Quantity in the item's unit."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    to: str = typer.Option(..., help="Who receives it, e.g. 白云区第一小学."),
) -> None:
    """Issue free stock directly (earliest expiry first)."""
    from tongxin.supplies import service

    with checked_session() as s:
        service.issue(
            s,
            item=service.item_by_code(s, item),
            warehouse=service.warehouse_by_code(s, warehouse),
            quantity=quantity,
            to=to,
            at=datetime.now(UTC),
            by=BY,
        )
        typer.echo("issued")


@app.command("adjust")
def adjust(
    lot: str = typer.Option(..., help="Lot code."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    delta: str = typer.Option(..., help="Signed change in the item's unit, e.g. -2.5."),
    reason: str = typer.Option(..., help="Why (e.g. 盘点差异)."),
) -> None:
    """Correct a lot's stock after a count, with a reason."""
    from tongxin.supplies import service

    with checked_session() as s:
        found = service.lot_by_code(s, lot)
        service.adjust(
            s,
            item=found[1],
            lot_id=found[0].id,
            warehouse=service.warehouse_by_code(s, warehouse),
            delta=delta,
            reason=reason,
            at=datetime.now(UTC),
            by=BY,
        )
        typer.echo("adjusted")


@app.command("write-off")
def write_off(
    lot: str = typer.Option(..., help="Lot code."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    quantity: str = typer.Option(..., help="Quantity in the item's unit."),
    reason: str = typer.Option(..., help="expired or damaged."),
) -> None:
    """Write off expired or damaged stock of a lot."""
    from tongxin.supplies import service

    with checked_session() as s:
        found = service.lot_by_code(s, lot)
        service.write_off(
            s,
            item=found[1],
            lot_id=found[0].id,
            warehouse=service.warehouse_by_code(s, warehouse),
            quantity=quantity,
            reason=reason,
            at=datetime.now(UTC),
            by=BY,
        )
        typer.echo("written off")


@app.command("allocate")
def allocate(
    area: str = typer.Option(..., help="Area code whose households in need receive packages."),
    package: str = typer.Option(..., help="Package (or item) code."),
    warehouse: str = typer.Option(..., help="Warehouse code."),
    day: str = typer.Option(..., "--date", help="Delivery date YYYY-MM-DD."),
    total: int | None = typer.Option(None, help="Units to split (default: one per household)."),
    limit: int | None = typer.Option(
        None,
        help="At most N of the registry's households in need, bedridden first, then the "
        "oldest (default: all); hotline requests come on top.",
    ),
    window_from: str = typer.Option("09:00", help="Delivery window start (China time)."),
    window_to: str = typer.Option("18:00", help="Delivery window end (China time)."),
    urgency: str = typer.Option("normal", help="normal or urgent."),
    with_hotline: bool = typer.Option(
        True,
        "--hotline/--no-hotline",
        help="Also serve the area's hotline cases that asked for a delivery.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Allocate to an area's households in need (elderly living alone, bedridden, and hotline
    delivery requests), by size."""
    from sqlalchemy import select

    from tongxin.registry.models import Area
    from tongxin.settings import get_settings
    from tongxin.supplies import allocation, service

    delivery = parse_day(day)
    window = allocation.Window(
        parse_hhmm(window_from, "--window-from"), parse_hhmm(window_to, "--window-to")
    )
    with checked_session() as s:
        found = s.scalar(select(Area).where(Area.code == area))
        if found is None:
            fail(f"区域不存在:{area}", f"no area {area!r}")
        made = allocation.allocate_to_area(
            s,
            area=found,
            item=service.item_by_code(s, package, where="--package"),
            warehouse=service.warehouse_by_code(s, warehouse),
            delivery_date=delivery,
            at=datetime.now(UTC),
            by=BY,
            elderly_age=get_settings().elderly_age,
            total=total,
            limit=limit,
            with_hotline=with_hotline,
            window=window,
            urgency=urgency,
        )
        emit(
            {
                "allocation": made.allocation.id,
                "households": made.households,
                "hotline_requests": made.hotline_requests,
                "hotline_requests_without_household": made.hotline_requests_without_household,
            },
            as_json=as_json,
            text=(
                f"allocation {made.allocation.id}: {made.households} households"
                f" ({made.hotline_requests} hotline requests;"
                f" {made.hotline_requests_without_household} without a registered household"
                " stay on the hotline board)"
            ),
        )


@app.command("donor-report")
def donor_report(
    donor: str = typer.Option(..., help="Donor name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Report what a donor gave and where it went."""
    from sqlalchemy import select

    from tongxin.supplies import reports
    from tongxin.supplies.models import Donor

    with checked_session() as s:
        found = s.scalar(select(Donor).where(Donor.name == donor))
        if found is None:
            fail(f"捐赠方不存在:{donor}", f"no donor {donor!r}")
        report = reports.donor_report(s, found)
    lines = [
        f"{line['donation']} {line['item']} {line['given']}: "
        f"in stock {line['in_stock']}, delivered {line['delivered']}"
        for line in report["lines"]
    ]
    emit(
        report, as_json=as_json, text="\n".join(lines) + f"\ndelivered {report['delivered_kg']} kg"
    )
