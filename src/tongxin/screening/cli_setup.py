"""`tongxin screening` commands: round set-up (rounds, labs, sites and stations, tube barcodes).

Every command takes `--json`. Bad input names the bad value on stderr in Chinese and English
and exits 2, with nothing written: the command's one transaction rolls back.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

# fail/emit moved to tongxin.commands so other areas' CLIs share them; re-exported here.
from tongxin.commands import emit, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tongxin.screening.models import Round

app = typer.Typer()
round_app = typer.Typer(help="Testing rounds.", no_args_is_help=True)
lab_app = typer.Typer(help="Testing laboratories.", no_args_is_help=True)
site_app = typer.Typer(help="Sampling sites and their stations.", no_args_is_help=True)
tubes_app = typer.Typer(help="Pre-issued tube barcodes.", no_args_is_help=True)
app.add_typer(round_app, name="round")
app.add_typer(lab_app, name="lab")
app.add_typer(site_app, name="site")
app.add_typer(tubes_app, name="tubes")

_ZONE_NAMES_ZH = {"sealed": "封控区", "controlled": "管控区", "precaution": "防范区"}


def round_or_fail(session: Session, code: str) -> Round:
    """Return the round with this code, or fail the command naming it."""
    from tongxin.screening.setup import SetupError, round_by_code

    try:
        return round_by_code(session, code)
    except SetupError:
        fail(f"轮次不存在:{code}", f"no round with code {code!r}")


def parse_instant(raw: str, option: str) -> datetime:
    """Parse an ISO 8601 time; a time without offset is taken as China time (UTC+8)."""
    from datetime import timedelta, timezone

    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        fail(f"{option} 不是 ISO 时间:{raw!r}", f"{option} is not an ISO time: {raw!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(hours=8)))
    return value.astimezone(UTC)


@round_app.command("create")
def round_create(
    code: str = typer.Option(..., "--code", help="Round code devices send, e.g. R1."),
    name: str = typer.Option(..., "--name", help="Round name, e.g. 第一轮全员核酸."),
    district: str = typer.Option(..., "--district", help="Code of the district the round is in."),
    target: list[str] = typer.Option(
        ...,
        "--target",
        help="AREA_CODE:ZONE, zone one of sealed, controlled, precaution; repeat per area.",
    ),
    starts: str | None = typer.Option(
        None, "--starts", help="Start time, ISO 8601 (no offset = UTC+8); default now."
    ),
    deadline_hours: float = typer.Option(24, "--deadline-hours", help="Hours from start."),
    sealed_pooling: str = typer.Option(
        "single", "--sealed-pooling", help="Sealed-zone tubes: single or household."
    ),
    controlled_pool: int = typer.Option(10, "--controlled-pool", help="Swabs per controlled tube."),
    precaution_pool: int = typer.Option(20, "--precaution-pool", help="Swabs per precaution tube."),
    key_group_pool: int = typer.Option(1, "--key-group-pool", help="Swabs per key-group tube."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create a round over target areas, each with its zone, and its pooling policy."""
    from datetime import timedelta

    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.registry.service import RegistryError, area_by_code
    from tongxin.screening.rules import SealedPooling, Zone
    from tongxin.screening.setup import SetupError, create_round

    try:
        pooling = SealedPooling(sealed_pooling)
    except ValueError:
        fail(
            f"--sealed-pooling 须为 single 或 household,而不是 {sealed_pooling!r}",
            f"--sealed-pooling must be single or household, not {sealed_pooling!r}",
        )
    if deadline_hours <= 0:
        fail(
            f"--deadline-hours 须大于 0:{deadline_hours}",
            f"--deadline-hours must be above 0: {deadline_hours}",
        )
    parsed: list[tuple[str, Zone]] = []
    for raw in target:
        area_code, sep, zone_word = raw.rpartition(":")
        try:
            zone = Zone(zone_word)
        except ValueError:
            zone = None
        if not sep or not area_code or zone is None:
            fail(
                f"--target {raw!r} 应为 区域编码:区域类型(sealed/controlled/precaution)",
                f"--target {raw!r} must be AREA_CODE:ZONE with ZONE sealed, controlled "
                "or precaution",
            )
        parsed.append((area_code, zone))
    starts_at = parse_instant(starts, "--starts") if starts else datetime.now(UTC)
    with command_session() as session:
        try:
            district_area = area_by_code(session, district)
            targets = [(area_by_code(session, c), z) for c, z in parsed]
        except RegistryError as exc:
            fail(f"区域编码不存在:{exc}", f"unknown area: {exc}")
        try:
            rnd = create_round(
                session,
                code=code,
                name=name,
                district=district_area,
                targets=targets,
                starts_at=starts_at,
                deadline=starts_at + timedelta(hours=deadline_hours),
                sealed_pooling=pooling,
                controlled_pool=controlled_pool,
                precaution_pool=precaution_pool,
                key_group_pool=key_group_pool,
            )
        except SetupError as exc:
            fail(f"无法创建轮次 {code}:{exc}", f"cannot create round {code}: {exc} [{exc.code}]")
        out = {
            "round": rnd.code,
            "id": rnd.id,
            "name": rnd.name,
            "district": district,
            "starts_at": rnd.starts_at.isoformat(),
            "deadline": rnd.deadline.isoformat(),
            "targets": [{"area": c, "zone": z.value} for c, z in parsed],
            "pooling": {
                "sealed": pooling.value,
                "controlled": controlled_pool,
                "precaution": precaution_pool,
                "key_group": key_group_pool,
            },
        }
        record_command(
            session,
            action="screening.round.create",
            target_type="round",
            target_id=rnd.code,
            area=district_area,
            after=out,
        )
    zones = ", ".join(f"{c} {_ZONE_NAMES_ZH[z.value]}" for c, z in parsed)
    emit(
        out,
        as_json=as_json,
        text=f"已创建轮次 {code}({name}),截止 {out['deadline']};目标:{zones}\n"
        f"created round {code}, deadline {out['deadline']}",
    )


@lab_app.command("add")
def lab_add(
    code: str = typer.Option(..., "--code", help="Lab code, e.g. LAB1."),
    name: str = typer.Option(..., "--name", help="Lab name."),
    round_code: str | None = typer.Option(
        None, "--round", help="Let this round use the lab (the lab is created once)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Register a lab, and optionally let a round use it."""
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.setup import add_lab

    with command_session() as session:
        rnd = round_or_fail(session, round_code) if round_code else None
        lab = add_lab(session, code=code, name=name, round=rnd)
        out = {"lab": lab.code, "id": lab.id, "name": lab.name, "round": round_code}
        record_command(
            session,
            action="screening.lab.add",
            target_type="lab",
            target_id=lab.code,
            area=rnd.district_id if rnd else None,
            after=out,
        )
    emit(
        out,
        as_json=as_json,
        text=f"实验室 {lab.code}({out['name']})"
        + (f"用于轮次 {round_code}" if round_code else "")
        + f"\nlab {out['lab']} ready"
        + (f" for round {round_code}" if round_code else ""),
    )


@site_app.command("add")
def site_add(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    code: str = typer.Option(..., "--code", help="Site code within the round, e.g. S1."),
    name: str = typer.Option(..., "--name", help="Site name."),
    area: str = typer.Option(..., "--area", help="Code of the area the site stands in."),
    stations: int = typer.Option(..., "--stations", help="Number of sampling stations."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Open a sampling site with N stations and print the station codes."""
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.registry.service import RegistryError, area_by_code
    from tongxin.screening.setup import SetupError, add_site

    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        try:
            place = area_by_code(session, area)
        except RegistryError:
            fail(f"区域编码不存在:{area}", f"no area has code {area!r}")
        try:
            site, made = add_site(
                session, round=rnd, code=code, name=name, area=place, stations=stations
            )
        except SetupError as exc:
            fail(f"无法设点 {code}:{exc}", f"cannot add site {code}: {exc} [{exc.code}]")
        codes = [s.code for s in made]
        out = {"round": round_code, "site": site.code, "id": site.id, "zone": site.zone}
        record_command(
            session,
            action="screening.site.add",
            target_type="site",
            target_id=f"{round_code}/{site.code}",
            area=place,
            after={**out, "area": area, "stations": len(codes)},
        )
    emit({**out, "stations": codes}, as_json=as_json, text="\n".join(codes))


@site_app.command("pin")
def site_pin(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    site: str = typer.Option(..., "--site", help="Site code within the round."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Set a new handover PIN for a site and print it once (only its hash is stored)."""
    from sqlalchemy import select

    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.models import Site
    from tongxin.screening.setup import set_site_pin

    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        row = session.scalar(select(Site).where(Site.round_id == rnd.id, Site.code == site))
        if row is None:
            fail(f"轮次 {round_code} 没有采样点 {site}", f"round {round_code} has no site {site!r}")
        replaced = row.handover_pin_hash is not None
        pin = set_site_pin(session, site=row)
        out = {"round": round_code, "site": site, "replaced": replaced}
        # Never the PIN itself: it is a secret shown once.
        record_command(
            session,
            action="screening.site.pin",
            target_type="site",
            target_id=f"{round_code}/{site}",
            area=row.area_id,
            after=out,
        )
    emit(
        {**out, "pin": pin},
        as_json=as_json,
        text=f"{pin}\n采样点 {site} 的交接密码仅显示这一次,转运员取箱时由采样点输入\n"
        f"the handover PIN of site {site} is shown only this once; the site types it on the "
        "courier's device at pick-up",
    )


@tubes_app.command("issue")
def tubes_issue(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    count: int = typer.Option(..., "--count", help="How many barcodes to issue."),
    capacity: int = typer.Option(
        ..., "--capacity", help="Swabs per tube: 1, 5, 10 or 20 (0 = one household)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the barcodes: .csv (one per line) or .svg (QR sheet)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Pre-issue a printed batch of tube barcodes and print them."""
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.setup import SetupError, issue_tubes

    if out is not None:
        if out.suffix.lower() not in (".csv", ".svg"):
            fail(
                f"--out 须以 .csv 或 .svg 结尾:{out}",
                f"--out must end in .csv or .svg: {out}",
            )
        if not out.parent.is_dir():
            fail(f"目录不存在 {out.parent}", f"no such folder: {out.parent}")
    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        try:
            issued = issue_tubes(session, round=rnd, count=count, capacity=capacity)
        except SetupError as exc:
            fail(
                f"无法发放管码(--count {count} --capacity {capacity}):{exc}",
                f"cannot issue tubes (--count {count} --capacity {capacity}): {exc} [{exc.code}]",
            )
        result = {
            "round": round_code,
            "batch": issued.batch.id,
            "capacity": capacity,
            "barcodes": issued.barcodes,
        }
        record_command(
            session,
            action="screening.tubes.issue",
            target_type="tube_batch",
            target_id=issued.batch.id,
            area=rnd.district_id,
            after={
                "round": round_code,
                "count": len(issued.barcodes),
                "capacity": capacity,
                "first": issued.barcodes[0],
                "last": issued.barcodes[-1],
            },
        )
    if out is not None:
        if out.suffix.lower() == ".csv":
            _write_barcode_csv(out, issued.barcodes, capacity)
        else:
            _write_label_sheet(out, issued.barcodes, capacity)
    emit(result, as_json=as_json, text="\n".join(issued.barcodes))


def _write_barcode_csv(path: Path, barcodes: list[str], capacity: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["barcode", "capacity"])
        writer.writerows([b, capacity] for b in barcodes)


def _write_label_sheet(path: Path, barcodes: list[str], capacity: int) -> None:
    """Write a printable SVG sheet of QR labels, four per row, each with its text below."""
    import segno

    cell, per_row = 160, 4
    parts: list[str] = []
    for i, code in enumerate(barcodes):
        x, y = (i % per_row) * cell, (i // per_row) * cell
        qr = segno.make(code, error="m")
        size = qr.symbol_size(scale=4)[0]
        parts.append(
            f'<g transform="translate({x + (cell - size) / 2},{y + 4})">'
            f"{qr.svg_inline(scale=4)}</g>"
            f'<text x="{x + cell / 2}" y="{y + size + 18}" text-anchor="middle" '
            f'font-family="monospace" font-size="14">{code}</text>'
        )
    rows = (len(barcodes) + per_row - 1) // per_row
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cell * per_row}" '
        f'height="{cell * rows}"><title>{len(barcodes)} tubes, capacity {capacity}</title>'
        + "".join(parts)
        + "</svg>"
    )
    path.write_text(svg, encoding="utf-8")
