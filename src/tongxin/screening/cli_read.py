"""`tongxin screening` commands: reconciliation, coverage and per-building exports.

These only read. Mismatches are data, not failures: `reconcile` exits 0 whatever it finds;
an unknown round or area exits 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from tongxin.commands import emit, fail

app = typer.Typer()
export_app = typer.Typer(
    help="Per-building xlsx lists for community workers.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


def _round_id(session: Any, code: str) -> int:
    from sqlalchemy import select

    from tongxin.screening.models import Round

    found = session.scalar(select(Round.id).where(Round.code == code))
    if found is None:
        fail(f"没有编码为 {code} 的轮次", f"no round has code {code!r}")
    return int(found)


AS_HELP = (
    "Act for this user: their permission and jurisdiction apply. Without it the command runs"
    " as the trusted server operator."
)


def _area(session: Any, code: str, *, as_user: str | None = None, permission: str = "") -> Any:
    """Return the area with this code; acting for a user, only one inside their jurisdiction."""
    from sqlalchemy import select

    from tongxin.accounts.access import acting_user
    from tongxin.accounts.rules import Permission
    from tongxin.accounts.service import AccountError
    from tongxin.registry.models import Area

    found = session.scalar(select(Area).where(Area.code == code))
    if found is not None and as_user is not None:
        try:
            _, scope = acting_user(session, as_user, Permission(permission))
        except AccountError as exc:
            fail(f"不能代表 {as_user} 执行", str(exc))
        if not scope.contains(found):
            # Outside the acting user's jurisdiction reads like an unknown area.
            found = None
    if found is None:
        fail(f"没有编码为 {code} 的区域", f"no area has code {code!r}")
    return found


@app.command("reconcile")
def reconcile_command(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Print a round's custody counts, every broken invariant and the time flags."""
    from tongxin.commands import command_session
    from tongxin.screening.reconcile import reconcile
    from tongxin.settings import get_settings

    settings = get_settings()
    with command_session(settings) as session:
        rec = reconcile(
            session,
            round_id=_round_id(session, round_code),
            now=datetime.now(UTC),
            swab_to_receipt_hours=settings.swab_to_receipt_hours,
            receipt_to_result_hours=settings.receipt_to_result_hours,
        )
    lines = [f"{name}: {value}" for name, value in rec.counts().items()]
    lines += [
        f"[{m.code}] {m.message_zh} / {m.message_en} "
        f"@ {' '.join(v for v in m.place.values() if v)} {' '.join(m.boxes + m.tubes)}".rstrip()
        for m in rec.mismatches
    ]
    lines += [
        f"[{f.code}] {f.tube} {f.hours if f.hours is not None else '…'} h > {f.limit_hours} h"
        for f in rec.time_flags
    ]
    if not rec.mismatches:
        lines.append("无不一致 / no mismatches")
    emit(rec.as_json(), as_json=as_json, text="\n".join(lines))


@app.command("coverage")
def coverage_command(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    area_code: str = typer.Option(..., "--area", help="Area code; rows are its child nodes."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Print tested and untested present residents per child node of an area."""
    from tongxin.commands import command_session
    from tongxin.screening.coverage import coverage, total

    with command_session() as session:
        round_id = _round_id(session, round_code)
        area = _area(session, area_code, as_user=as_user, permission="screening.read")
        rows = coverage(session, round_id=round_id, area=area)
        data = {
            "round": round_code,
            "area": area.code,
            "name": area.name,
            **total(rows),
            "rows": [r.as_json() for r in rows],
        }
    text = "\n".join(
        [f"{data['name']} {data['tested']}/{data['present']}"]
        + [f"  {r.name} ({r.code}): {r.tested}/{r.present}, 未检 {r.untested}" for r in rows]
    )
    emit(data, as_json=as_json, text=text)


def _export(
    kind_value: str,
    round_code: str,
    area_code: str,
    out: Path,
    as_json: bool,
    as_user: str | None,
) -> None:
    from tongxin.commands import command_session
    from tongxin.privacy.service import command_viewer
    from tongxin.screening.exports import ExportError, ListKind, export_list

    if out.suffix.lower() != ".xlsx":
        fail(f"输出文件须为 .xlsx:{out}", f"the output file must be .xlsx: {out}")
    with command_session() as session:
        round_id = _round_id(session, round_code)
        area = _area(session, area_code, as_user=as_user, permission="screening.export")
        try:
            summary = export_list(
                session,
                round_id=round_id,
                area=area,
                kind=ListKind(kind_value),
                out=out,
                now=datetime.now(UTC),
                exported_by=command_viewer(),
            )
        except ExportError as problem:
            fail(f"无法导出:{problem}", f"cannot export: {problem}")
    data = {**summary.__dict__, "out": str(out)}
    emit(
        data,
        as_json=as_json,
        text=f"{out}: {summary.residents} 人, {summary.buildings} 个楼栋",
    )


@export_app.command("untested")
def export_untested(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    area_code: str = typer.Option(..., "--area", help="Area code (building or above)."),
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Write the untested present residents under an area, one sheet per building."""
    _export("untested", round_code, area_code, out, as_json, as_user)


@export_app.command("door-to-door")
def export_door_to_door(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    area_code: str = typer.Option(..., "--area", help="Area code (building or above)."),
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Write the bedridden and disabled residents not yet tested, one sheet per building."""
    _export("door-to-door", round_code, area_code, out, as_json, as_user)
