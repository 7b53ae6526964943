"""Supplies pages: the donation desk and receipts, stock, packages, allocations, donor reports.

Supplies are kept for the whole operation, so the pages show every warehouse; allocating to
households only reaches areas inside the officer's jurisdiction.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.audit.context import web_actor
from tongxin.registry.models import Area
from tongxin.supplies import (
    allocation,
    exports,
    hotline_requests,
    receipts,
    reports,
    rules,
    service,
)
from tongxin.supplies.allocation import CHINA
from tongxin.supplies.models import (
    Allocation,
    DeliveryOrder,
    Donation,
    Donor,
    Item,
    Recipient,
    Warehouse,
)
from tongxin.supplies.rules import UNIT_LABELS_ZH, SuppliesError, Unit, show_milli
from tongxin.web.deps import RequestSession, page_user, requires, scope_of
from tongxin.web.templating import render

router = APIRouter(include_in_schema=False)
MANAGE = requires(Permission.SUPPLIES_MANAGE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DESK_LINES = 4
PACKAGE_LINES = 4  # component rows on the package definition form


def xlsx_response(book: exports.WorkbookWriter, filename: str) -> Response:
    """Answer with a saved workbook as a download."""
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _desk(
    request: Request,
    session: Session,
    *,
    problem: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "donors": list(session.scalars(select(Donor).order_by(Donor.name))),
        "warehouses": list(session.scalars(select(Warehouse).order_by(Warehouse.code))),
        "items": list(
            session.scalars(select(Item).where(Item.is_package.is_(False)).order_by(Item.code))
        ),
        "units": [(u.value, UNIT_LABELS_ZH[u]) for u in Unit],
        "recent": list(session.scalars(select(Donation).order_by(Donation.id.desc()).limit(20))),
        "donor_names": dict(session.execute(select(Donor.id, Donor.name)).tuples().all()),
        "problem": problem,
        "form": form or {},
        "lines": DESK_LINES,
    }
    return render(request, "supplies/desk.html", context, status_code=status_code)


@router.get("/supplies/donations", dependencies=[MANAGE])
def donation_desk(request: Request, session: Session = RequestSession) -> Response:
    """Show the donation desk: the intake form and the latest receipts."""
    return _desk(request, session)


@router.post("/supplies/donations", dependencies=[MANAGE])
async def receive_donation(
    request: Request, session: Session = RequestSession, user: User = Depends(page_user)
) -> Response:
    """Book a donation from the desk form; any bad line refuses the whole donation."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    lines: list[service.IntakeLine] = []
    for i in range(1, DESK_LINES + 1):
        item = values.get(f"item_{i}", "").strip()
        quantity = values.get(f"quantity_{i}", "").strip()
        if not item and not quantity:
            continue
        expiry_raw = values.get(f"expires_{i}", "").strip()
        try:
            expiry = date.fromisoformat(expiry_raw) if expiry_raw else None
        except ValueError:
            problem = {
                "code": "bad_date",
                "where": f"line {len(lines) + 1}.expires_on",
                "detail": expiry_raw,
            }
            return _desk(request, session, problem=problem, form=values, status_code=422)
        lines.append(service.IntakeLine(item, quantity, values.get(f"unit_{i}", ""), expiry))
    try:
        warehouse = service.warehouse_by_code(session, values.get("warehouse", ""))
        donor = service.add_donor(
            session,
            name=values.get("donor", ""),
            kind=values.get("donor_kind", "enterprise"),
            contact_name=values.get("contact") or None,
            phone=values.get("phone") or None,
        )
        donation = service.receive_donation(
            session,
            donor=donor,
            warehouse=warehouse,
            lines=lines,
            at=datetime.now(UTC),
            by=user.username,
            settings=request.app.state.settings,
            note=values.get("note") or None,
        )
    except SuppliesError as exc:
        session.rollback()
        return _desk(request, session, problem=exc.as_dict(), form=values, status_code=422)
    return RedirectResponse(f"/supplies/donations/{donation.number}", status_code=303)


@router.get("/supplies/donations/{number}", dependencies=[MANAGE])
def donation_receipt(request: Request, number: str, session: Session = RequestSession) -> Response:
    """Show a donation's printable receipt with its QR code."""
    donation = session.scalar(select(Donation).where(Donation.number == number))
    if donation is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "supplies/receipt.html",
        {"receipt": receipts.receipt(session, donation), "donor_id": donation.donor_id},
    )


@router.get("/supplies/stock", dependencies=[MANAGE])
def stock_page(request: Request, session: Session = RequestSession) -> Response:
    """Show stock on hand per warehouse, item and lot, summed from the ledger."""
    return render(
        request, "supplies/stock.html", {"rows": reports.stock_on_hand(session), "show": show_milli}
    )


@router.get("/supplies/stock.xlsx", dependencies=[MANAGE])
def stock_xlsx(session: Session = RequestSession, user: User = Depends(page_user)) -> Response:
    """Download the stock list as xlsx."""
    rows = [r.as_dict() for r in reports.stock_on_hand(session)]
    return xlsx_response(exports.stock_workbook(rows, by=user.username), "stock.xlsx")


def _packages(
    request: Request,
    session: Session,
    *,
    problem: dict[str, str] | None = None,
    done: int | None = None,
    defined: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    packages = list(
        session.scalars(select(Item).where(Item.is_package.is_(True)).order_by(Item.code))
    )
    totals = reports.item_totals(session)
    return render(
        request,
        "supplies/packages.html",
        {
            "packages": packages,
            "totals": {p.code: show_milli(totals.get(p.code, 0)) for p in packages},
            "contents": {p.id: service.package_contents(session, p) for p in packages},
            "warehouses": list(session.scalars(select(Warehouse).order_by(Warehouse.code))),
            "problem": problem,
            "done": done,
            "defined": defined,
            "form": form or {},
            "items": list(
                session.scalars(select(Item).where(Item.is_package.is_(False)).order_by(Item.code))
            ),
            "lines": PACKAGE_LINES,
        },
        status_code=status_code,
    )


@router.get("/supplies/packages", dependencies=[MANAGE])
def packages_page(
    request: Request,
    done: int | None = None,
    defined: str | None = None,
    session: Session = RequestSession,
) -> Response:
    """Show package definitions, packages in stock, the assembly and the definition forms."""
    return _packages(request, session, done=done, defined=defined)


@router.post("/supplies/packages/assemble", dependencies=[MANAGE])
def assemble_packages(
    request: Request,
    package: str = Form(""),
    count: str = Form(""),
    warehouse: str = Form(""),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Assemble N packages at a warehouse from its stock."""
    try:
        if not count.strip().isdigit():
            raise SuppliesError("bad_quantity", f"not a whole number: {count!r}", where="count")
        service.assemble(
            session,
            package=service.item_by_code(session, package, where="package"),
            packages=int(count),
            warehouse=service.warehouse_by_code(session, warehouse),
            at=datetime.now(UTC),
            by=user.username,
        )
    except SuppliesError as exc:
        session.rollback()
        return _packages(request, session, problem=exc.as_dict(), status_code=422)
    return RedirectResponse(f"/supplies/packages?done={int(count)}", status_code=303)


def _allocations(
    request: Request,
    session: Session,
    user: User,
    *,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
    preview: Area | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    scope = scope_of(session, user)
    need: dict[str, int] | None = None
    if preview is not None:
        # How many households the area has in need, by reason, so the officer can choose an
        # area that matches the packages at hand or set "at most N" (most in need first).
        settings = request.app.state.settings
        found = allocation.needy_households(
            session,
            area=preview,
            today=datetime.now(CHINA).date(),
            elderly_age=settings.elderly_age,
        )
        need = {"total": len(found)}
        for n in found:
            need[n.reason] = need.get(n.reason, 0) + 1
        asked = hotline_requests.delivery_requests(session, area=preview)
        need["hotline"] = len(asked.household_ids)
        need["hotline_without_household"] = asked.without_household
    areas = [
        a
        for a in session.scalars(
            select(Area)
            .where(Area.level.in_(("district", "street", "community")))
            .order_by(Area.code)
        )
        if scope.contains(a)
    ]
    counts = dict(
        session.execute(
            select(DeliveryOrder.allocation_id, func.count()).group_by(DeliveryOrder.allocation_id)
        )
        .tuples()
        .all()
    )
    return render(
        request,
        "supplies/allocations.html",
        {
            "areas": areas,
            "items": list(
                session.scalars(select(Item).order_by(Item.is_package.desc(), Item.code))
            ),
            "warehouses": list(session.scalars(select(Warehouse).order_by(Warehouse.code))),
            "allocations": list(
                session.scalars(select(Allocation).order_by(Allocation.id.desc()).limit(50))
            ),
            "counts": counts,
            "problem": problem,
            "preview": preview,
            "need": need,
            "institutions": allocation.institutions(session),
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/supplies/allocations", dependencies=[MANAGE])
def allocations_page(
    request: Request,
    area: str | None = None,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Show the allocation form (households in need of an area) and past allocations.

    With `?area=CODE` it also counts the area's households in need, by reason.
    """
    preview = None
    if area:
        preview = session.scalar(select(Area).where(Area.code == area))
        if preview is None or not scope_of(session, user).contains(preview):
            raise HTTPException(status_code=404)
    return _allocations(request, session, user, preview=preview)


@router.post("/supplies/allocations", dependencies=[MANAGE])
def allocate_to_area(
    request: Request,
    area: str = Form(""),
    item: str = Form(""),
    warehouse: str = Form(""),
    delivery_date: str = Form(""),
    total: str = Form(""),
    limit: str = Form(""),
    window_from: str = Form("09:00"),
    window_to: str = Form("18:00"),
    urgency: str = Form("normal"),
    hotline: str = Form(""),
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Allocate to the households in need of an area inside the user's jurisdiction, and
    (ticked by default) to the households whose hotline case asked for a delivery."""
    found = session.scalar(select(Area).where(Area.code == area))
    if found is None or not scope_of(session, user).contains(found):
        raise HTTPException(status_code=404)
    settings = request.app.state.settings
    try:
        day = _parse(date.fromisoformat, delivery_date, "delivery_date")
        window = allocation.Window(
            _parse(time.fromisoformat, window_from, "window_from"),
            _parse(time.fromisoformat, window_to, "window_to"),
        )
        if total.strip() and not total.strip().isdigit():
            raise SuppliesError("bad_quantity", f"not a whole number: {total!r}", where="total")
        if limit.strip() and not limit.strip().isdigit():
            raise SuppliesError("bad_quantity", f"not a whole number: {limit!r}", where="limit")
        made = allocation.allocate_to_area(
            session,
            area=found,
            item=service.item_by_code(session, item),
            warehouse=service.warehouse_by_code(session, warehouse),
            delivery_date=day,
            at=datetime.now(UTC),
            by=user.username,
            elderly_age=settings.elderly_age,
            total=int(total) if total.strip() else None,
            limit=int(limit) if limit.strip() else None,
            with_hotline=hotline == "on",
            window=window,
            urgency=urgency,
        ).allocation
    except SuppliesError as exc:
        session.rollback()
        return _allocations(request, session, user, problem=exc.as_dict(), status_code=422)
    return RedirectResponse(f"/supplies/allocations/{made.id}", status_code=303)


def _parse(parser: Any, raw: str, where: str) -> Any:
    try:
        return parser(raw.strip())
    except ValueError:
        raise SuppliesError("bad_value", f"{raw!r} is not valid here", where=where) from None


def _orders(session: Session, allocation_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DeliveryOrder, Recipient.name)
        .join(Recipient, Recipient.id == DeliveryOrder.recipient_id)
        .where(DeliveryOrder.allocation_id == allocation_id)
        .order_by(DeliveryOrder.id)
    ).all()
    return [
        {
            "order": o.id,
            "recipient": name,
            "address": o.address,
            "units": show_milli(o.milli),
            "weight_kg": o.weight_g / 1000,
            "window": f"{o.window_start.astimezone(CHINA):%H:%M}-"
            f"{o.window_end.astimezone(CHINA):%H:%M}",
            "urgency": o.urgency,
            "status": o.status,
            "pin": o.pin,
        }
        for o, name in rows
    ]


@router.get("/supplies/allocations/{allocation_id}", dependencies=[MANAGE])
def allocation_page(
    request: Request, allocation_id: int, session: Session = RequestSession
) -> Response:
    """Show an allocation's delivery orders with the PINs recipients confirm with."""
    found = session.get(Allocation, allocation_id)
    if found is None:
        raise HTTPException(status_code=404)
    return _allocation_page(request, session, found)


def _allocation_page(
    request: Request,
    session: Session,
    found: Allocation,
    *,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    orders = _orders(session, found.id)
    wrong = allocation.wrong_pins(session, [o["order"] for o in orders])
    return render(
        request,
        "supplies/allocation.html",
        {
            "allocation": found,
            "orders": orders,
            "tries_left": {o: rules.pin_attempts_left(n) for o, n in wrong.items() if n},
            "problem": problem,
        },
        status_code=status_code,
    )


@router.post(
    "/supplies/allocations/{allocation_id}/orders/{order_id}/pin-reset", dependencies=[MANAGE]
)
def reset_pin(
    request: Request,
    allocation_id: int,
    order_id: int,
    session: Session = RequestSession,
    user: User = Depends(page_user),
) -> Response:
    """Let a locked order's PIN be tried again (the recipient showed the driver the right
    card, say); the reset is audited."""
    found = session.get(Allocation, allocation_id)
    order = session.get(DeliveryOrder, order_id)
    if found is None or order is None or order.allocation_id != allocation_id:
        raise HTTPException(status_code=404)
    try:
        allocation.reset_pin_attempts(
            session, order=order, actor=web_actor(request, user), at=datetime.now(UTC)
        )
    except SuppliesError as exc:
        session.rollback()
        return _allocation_page(request, session, found, problem=exc.as_dict(), status_code=422)
    return RedirectResponse(f"/supplies/allocations/{allocation_id}", status_code=303)


@router.get("/supplies/allocations/{allocation_id}/orders.xlsx", dependencies=[MANAGE])
def allocation_xlsx(
    allocation_id: int, session: Session = RequestSession, user: User = Depends(page_user)
) -> Response:
    """Download an allocation's delivery orders as xlsx."""
    if session.get(Allocation, allocation_id) is None:
        raise HTTPException(status_code=404)
    book = exports.table_workbook(
        "配送单", exports.ORDER_COLUMNS, _orders(session, allocation_id), by=user.username
    )
    return xlsx_response(book, f"allocation-{allocation_id}.xlsx")


@router.get("/supplies/donors/{donor_id}", dependencies=[MANAGE])
def donor_page(request: Request, donor_id: int, session: Session = RequestSession) -> Response:
    """Show what a donor gave and where it went."""
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "supplies/donor.html",
        {"donor": donor, "report": reports.donor_report(session, donor)},
    )


@router.get("/supplies/donors/{donor_id}/report.xlsx", dependencies=[MANAGE])
def donor_xlsx(
    donor_id: int, session: Session = RequestSession, user: User = Depends(page_user)
) -> Response:
    """Download a donor report as xlsx."""
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise HTTPException(status_code=404)
    report = reports.donor_report(session, donor)
    book = exports.table_workbook(
        f"捐赠去向 {donor.name}", exports.DONOR_COLUMNS, report["lines"], by=user.username
    )
    return xlsx_response(book, f"donor-{donor_id}.xlsx")


# Set-up pages: what `tongxin supplies item-add`, `warehouse-add` and `package-define` do,
# through the same service functions, so the CLI and the pages refuse the same inputs.


def _float_or_none(raw: str, where: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise SuppliesError("bad_value", f"{raw!r} is not a number", where=where) from None


def _set_up_page(
    request: Request,
    template: str,
    listing: dict[str, Any],
    *,
    problem: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    added: str | None = None,
    status_code: int = 200,
) -> Response:
    """A set-up page: its list, the add form (a refused form keeps its values and names the
    field) and what was just added."""
    context = {**listing, "problem": problem, "form": form or {}, "added": added}
    return render(request, template, context, status_code=status_code)


def _items_page(request: Request, session: Session, **shown: Any) -> Response:
    return _set_up_page(
        request,
        "supplies/items.html",
        {
            "items": list(
                session.scalars(select(Item).where(Item.is_package.is_(False)).order_by(Item.code))
            ),
            "units": [u.value for u in Unit],
        },
        **shown,
    )


@router.get("/supplies/items", dependencies=[MANAGE])
def items_page(
    request: Request, added: str | None = None, session: Session = RequestSession
) -> Response:
    """List the stock items and show the form to add one."""
    return _items_page(request, session, added=added)


@router.post("/supplies/items", dependencies=[MANAGE])
async def add_item(request: Request, session: Session = RequestSession) -> Response:
    """Add a stock item; a refused one is shown at its field and nothing is stored."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        weight = values.get("unit_weight_g", "").strip()
        if weight and not weight.lstrip("-").isdigit():
            raise SuppliesError(
                "bad_value", f"{weight!r} is not whole grams", where="item.unit_weight_g"
            )
        item = service.add_item(
            session,
            code=values.get("code", ""),
            name=values.get("name", ""),
            unit=values.get("unit", ""),
            unit_weight_g=int(weight) if weight else None,
            perishable=values.get("perishable") == "on",
            oxygen=values.get("oxygen") == "on",
        )
    except SuppliesError as exc:
        session.rollback()
        return _items_page(request, session, problem=exc.as_dict(), form=values, status_code=422)
    return RedirectResponse(f"/supplies/items?added={item.code}", status_code=303)


def _warehouses_page(request: Request, session: Session, **shown: Any) -> Response:
    return _set_up_page(
        request,
        "supplies/warehouses.html",
        {
            "warehouses": list(session.scalars(select(Warehouse).order_by(Warehouse.code))),
        },
        **shown,
    )


@router.get("/supplies/warehouses", dependencies=[MANAGE])
def warehouses_page(
    request: Request, added: str | None = None, session: Session = RequestSession
) -> Response:
    """List warehouses and depots and show the form to add one."""
    return _warehouses_page(request, session, added=added)


@router.post("/supplies/warehouses", dependencies=[MANAGE])
async def add_warehouse(request: Request, session: Session = RequestSession) -> Response:
    """Add a warehouse or a depot (with coordinates); nothing is stored when refused."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        warehouse = service.add_warehouse(
            session,
            code=values.get("code", ""),
            name=values.get("name", ""),
            kind=values.get("kind", "warehouse"),
            address=values.get("address", "").strip() or None,
            latitude=_float_or_none(values.get("latitude", ""), "warehouse.latitude"),
            longitude=_float_or_none(values.get("longitude", ""), "warehouse.longitude"),
        )
    except SuppliesError as exc:
        session.rollback()
        return _warehouses_page(
            request, session, problem=exc.as_dict(), form=values, status_code=422
        )
    return RedirectResponse(f"/supplies/warehouses?added={warehouse.code}", status_code=303)


@router.post("/supplies/packages/define", dependencies=[MANAGE])
async def define_package(request: Request, session: Session = RequestSession) -> Response:
    """Define a package by its contents per package; nothing is stored when refused."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    components = [
        (values.get(f"component_{i}", "").strip(), values.get(f"quantity_{i}", "").strip())
        for i in range(1, PACKAGE_LINES + 1)
    ]
    # Blank rows are skipped; `rows` maps the service's line numbers back to the form's rows
    # so an error shows at the row the officer filled in.
    rows = [i for i, (item, q) in enumerate(components, 1) if item or q]
    try:
        package = service.define_package(
            session,
            code=values.get("code", ""),
            name=values.get("name", ""),
            components=[components[i - 1] for i in rows],
        )
    except SuppliesError as exc:
        session.rollback()
        problem = exc.as_dict()
        line = re.match(r"components\[(\d+)\](.*)", problem["where"])
        if line:
            problem["where"] = f"components[{rows[int(line.group(1)) - 1]}]{line.group(2)}"
        return _packages(request, session, problem=problem, form=values, status_code=422)
    return RedirectResponse(f"/supplies/packages?defined={package.code}", status_code=303)


@router.post("/supplies/allocations/institutions", dependencies=[MANAGE])
async def allocate_to_institutions(
    request: Request, session: Session = RequestSession, user: User = Depends(page_user)
) -> Response:
    """Allocate to the institutions ticked on the form (schools, elderly-care homes,
    communities): one each and the rest by how many people each serves."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    ticked = [str(v) for v in form.getlist("institution")]
    values["institution"] = ",".join(ticked)
    try:
        if not ticked:
            raise SuppliesError("missing", "tick at least one institution", where="institutions")
        if not all(t.isdigit() for t in ticked):
            raise SuppliesError("unknown_recipient", "not an institution", where="institutions")
        chosen = allocation.institutions(session, [int(t) for t in ticked])
        day = _parse(date.fromisoformat, values.get("delivery_date", ""), "delivery_date")
        total = values.get("total", "").strip()
        if total and not total.isdigit():
            raise SuppliesError("bad_quantity", f"not a whole number: {total!r}", where="total")
        made = allocation.allocate(
            session,
            name=f"{'、'.join(r.name for r in chosen[:3])}{'等' if len(chosen) > 3 else ''} "
            f"{day.isoformat()}",
            item=service.item_by_code(session, values.get("item", "")),
            warehouse=service.warehouse_by_code(session, values.get("warehouse", "")),
            recipients=chosen,
            total=int(total) if total else len(chosen),
            delivery_date=day,
            window=allocation.Window(
                _parse(time.fromisoformat, values.get("window_from", "09:00"), "window_from"),
                _parse(time.fromisoformat, values.get("window_to", "18:00"), "window_to"),
            ),
            urgency=values.get("urgency", "normal"),
            at=datetime.now(UTC),
            by=user.username,
        )
    except SuppliesError as exc:
        session.rollback()
        return _allocations(
            request, session, user, problem=exc.as_dict(), form=values, status_code=422
        )
    return RedirectResponse(f"/supplies/allocations/{made.id}", status_code=303)


def _institutions_page(request: Request, session: Session, **shown: Any) -> Response:
    return _set_up_page(
        request,
        "supplies/institutions.html",
        {
            "institutions": allocation.institutions(session),
            "kinds": allocation.INSTITUTION_KINDS,
        },
        **shown,
    )


@router.get("/supplies/institutions", dependencies=[MANAGE])
def institutions_page(
    request: Request, added: str | None = None, session: Session = RequestSession
) -> Response:
    """List institutions that receive supplies and show the form to add one."""
    return _institutions_page(request, session, added=added)


@router.post("/supplies/institutions", dependencies=[MANAGE])
async def add_institution(request: Request, session: Session = RequestSession) -> Response:
    """Add a school, elderly-care home or community as a recipient, with its coordinates."""
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        people = values.get("people", "1").strip() or "1"
        if not people.isdigit():
            raise SuppliesError(
                "bad_quantity", f"not a whole number: {people!r}", where="institution.people"
            )
        made = allocation.add_institution(
            session,
            kind=values.get("kind", ""),
            name=values.get("name", ""),
            address=values.get("address", ""),
            latitude=_float_or_none(values.get("latitude", ""), "institution.latitude"),
            longitude=_float_or_none(values.get("longitude", ""), "institution.longitude"),
            people=int(people),
        )
    except SuppliesError as exc:
        session.rollback()
        return _institutions_page(
            request, session, problem=exc.as_dict(), form=values, status_code=422
        )
    return RedirectResponse(f"/supplies/institutions?added={made.name}", status_code=303)
