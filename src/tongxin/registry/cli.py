"""`tongxin registry …`: import, export and look up residents."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tongxin.registry.importing import ImportReport
    from tongxin.registry.queries import Scope

app = typer.Typer(help="Area tree, households and residents.", no_args_is_help=True)

EXIT_PROBLEMS = 1
EXIT_USAGE = 2


AS_HELP = (
    "Act for this user: their permission and jurisdiction apply. Without it the command runs"
    " as the trusted server operator."
)


def _acting_scope(session: Any, username: str, permission_name: str) -> Scope:
    """Return the jurisdiction of the user a command acts for; AccountError when not allowed."""
    from tongxin.accounts.access import acting_user
    from tongxin.accounts.rules import Permission

    _, scope = acting_user(session, username, Permission(permission_name))
    return scope


def _fail(console: Console, zh: str, en: str) -> typer.Exit:
    console.print(f"[red]错误[/red] {zh}\n[red]error[/red] {en}", highlight=False)
    return typer.Exit(EXIT_USAGE)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="An .xlsx or .csv file in the import template."),
    community: str | None = typer.Option(
        None, "--community", help="Code of the community whose buildings the file names."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Import residents; nothing is written unless every row is valid (exit 1 otherwise)."""
    from rich.console import Console

    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.interop.tables import SUPPORTED_EXTENSIONS, extension_of
    from tongxin.registry.importing import import_residents
    from tongxin.registry.rules import AreaLevel
    from tongxin.registry.service import RegistryError, area_by_code
    from tongxin.settings import get_settings

    err = Console(stderr=True)
    if not file.is_file():
        raise _fail(err, f"找不到文件 {file}", f"no such file: {file}")
    if extension_of(file.name) not in SUPPORTED_EXTENSIONS:
        raise _fail(
            err,
            f"不支持的文件类型 {file.suffix or file.name},请使用 .xlsx 或 .csv",
            f"unsupported file type {file.suffix or file.name!r}: use .xlsx or .csv",
        )
    data = file.read_bytes()
    settings = get_settings()
    with command_session(settings) as session:
        area = None
        if community:
            try:
                area = area_by_code(session, community)
            except RegistryError:
                raise _fail(
                    err, f"没有编码为 {community} 的区域", f"no area has code {community!r}"
                ) from None
            if area.level != AreaLevel.COMMUNITY:
                raise _fail(
                    err,
                    f"{community} 是{area.level}而不是社区",
                    f"{community} is a {area.level}, not a community",
                )
        with _progress(err) as on_progress:
            report = import_residents(
                session,
                source=file.name,
                data=data,
                community=area,
                today=date.today(),
                progress=on_progress,
                batch_rows=settings.import_batch_rows,
            )
        if report.ok:
            record_command(
                session,
                action="registry.import.apply",
                target_type="import",
                target_id=file.name,
                area=area,
                after=report.counts(),
            )
    _print_report(report, as_json=as_json)
    if not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """Draw the import's Rich bars on stderr and yield the service's progress callback."""
    from rich.progress import TaskID

    from tongxin.commands import progress_bar

    with progress_bar(console) as progress:
        checking = progress.add_task("读取并校验 reading and checking rows", total=None)
        inserting: list[TaskID] = []

        def update(done: int, total: int) -> None:
            # The service counts each row twice: once checked, once inserted.
            rows = total // 2
            progress.update(checking, completed=min(done, rows), total=rows)
            if done >= rows > 0 and not inserting:
                inserting.append(progress.add_task("写入 inserting rows", total=rows))
            if inserting:
                progress.update(inserting[0], completed=done - rows)

        yield update


def _print_report(report: ImportReport, *, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    if as_json:
        out: dict[str, Any]
        if report.ok:
            out = {
                "ok": True,
                "rows": report.rows,
                "imported": report.imported,
                "households_created": report.households_created,
                "units_created": report.units_created,
            }
        else:
            out = {
                "ok": False,
                "rows": report.rows,
                "problems": [
                    {
                        "file": report.source,
                        "sheet": p.sheet,
                        "row": p.row,
                        "column": p.column,
                        "value": p.value,
                        "code": p.code,
                        "message_zh": p.message_zh,
                        "message_en": p.message_en,
                    }
                    for p in report.problems
                ],
            }
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    console = Console(soft_wrap=False)
    if report.ok:
        console.print(
            f"已导入 {report.imported} 人,新建 {report.households_created} 户"
            f"、{report.units_created} 个单元({report.source},{report.rows} 行)\n"
            f"imported {report.imported} residents, created {report.households_created} "
            f"households and {report.units_created} units from {report.source} "
            f"({report.rows} rows)",
            highlight=False,
        )
        return
    table = Table(
        title=f"{report.source}: {len(report.problems)} 个问题,未导入任何数据 / "
        f"{len(report.problems)} problems, nothing imported",
        show_lines=False,
    )
    table.add_column("文件 File", overflow="fold")
    table.add_column("行 Row", justify="right", no_wrap=True)
    table.add_column("列 Column", overflow="fold")
    table.add_column("值 Value", overflow="fold")
    table.add_column("原因 Reason", overflow="fold", ratio=1)
    table.add_column("代码 Code", no_wrap=True)
    for p in report.problems:
        where = f"{report.source} [{p.sheet}]" if p.sheet else report.source
        reason = f"{p.message_zh}\n{p.message_en}"
        table.add_row(where, str(p.row), p.column, p.value, reason, p.code)
    console.print(table)


@app.command("export")
def export_file(
    area: str = typer.Option(..., "--area", help="Code of the area to export (building or above)."),
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Write the residents under an area to .xlsx, one sheet per building."""
    from rich.console import Console

    from tongxin.accounts.service import AccountError
    from tongxin.commands import command_session
    from tongxin.privacy.service import command_viewer
    from tongxin.registry.exporting import export_residents
    from tongxin.registry.service import RegistryError, area_by_code

    err = Console(stderr=True)
    if out.suffix.lower() != ".xlsx":
        raise _fail(err, "导出文件须以 .xlsx 结尾", "the output file must end in .xlsx")
    if not out.parent.is_dir():
        raise _fail(err, f"目录不存在 {out.parent}", f"no such folder: {out.parent}")
    with command_session() as session:
        try:
            node = area_by_code(session, area)
            # Outside the acting user's jurisdiction reads like an unknown area.
            if as_user is not None and not _acting_scope(
                session, as_user, "registry.export"
            ).contains(node):
                raise RegistryError("area_unknown", f"no area with code {area!r}")
            with _export_progress(err) as on_progress:
                summary = export_residents(
                    session,
                    area=node,
                    out=out,
                    now=datetime.now(UTC),
                    exported_by=command_viewer(),
                    progress=on_progress,
                )
        except (RegistryError, AccountError) as exc:
            raise _fail(err, f"无法导出 {area}", f"cannot export {area}: {exc}") from None
    typer.echo(
        f"已导出 {summary.residents} 人({summary.buildings} 个楼栋)到 {out}\n"
        f"exported {summary.residents} residents in {summary.buildings} buildings to {out}"
    )


@contextmanager
def _export_progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    from tongxin.commands import progress_bar

    with progress_bar(console) as progress:
        task = progress.add_task("导出 exporting residents", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@app.command("qr")
def qr_code(
    code: str = typer.Argument(..., help="A resident code, e.g. 7ZK3M0Q2P."),
    out: Path | None = typer.Option(
        None, "--out", help="Write an .svg or .png file; without it, draw the QR in the terminal."
    ),
    scale: int = typer.Option(8, min=1, max=64, help="Pixels per module in the file."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Print a resident's code as a QR code (file or terminal)."""
    import segno
    from rich.console import Console
    from sqlalchemy import select

    from tongxin.commands import command_session
    from tongxin.registry import rules
    from tongxin.registry.models import Resident

    err = Console(stderr=True)
    code = code.strip().upper()
    if not rules.is_resident_code(code):
        raise _fail(
            err,
            f"“{code}”不是有效的居民码",
            f"{code!r} is not a resident code (bad check character?)",
        )
    if out is not None and out.suffix.lower() not in (".svg", ".png"):
        raise _fail(err, "输出文件须以 .svg 或 .png 结尾", "--out must end in .svg or .png")
    from tongxin.accounts.service import AccountError
    from tongxin.registry.search import visible_resident

    with command_session() as session:
        found = session.scalar(select(Resident.id).where(Resident.resident_code == code))
        if found is not None and as_user is not None:
            try:
                scope = _acting_scope(session, as_user, "registry.read")
            except AccountError as exc:
                raise _fail(err, str(exc), str(exc)) from None
            # Someone outside the acting user's jurisdiction reads like nobody.
            if visible_resident(session, scope, code) is None:
                found = None
    if found is None:
        raise _fail(err, f"没有居民码为 {code} 的居民", f"no resident has code {code}")
    qr = segno.make_qr(code, error="m")  # a full QR: phone scanners often skip Micro QR
    if out is None:
        qr.terminal(compact=True)
        typer.echo(code)
        return
    qr.save(str(out), scale=scale, border=4)
    typer.echo(f"wrote {out}")


@app.command("cards")
def household_cards(
    building: str = typer.Option(..., "--building", help="Code of the building."),
    out: Path = typer.Option(..., "--out", help="The .html file to write (prints on A4)."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Write a building's household cards (resident-code QR, masked name, room) for printing."""
    from rich.console import Console

    from tongxin.accounts.service import AccountError
    from tongxin.commands import command_session
    from tongxin.registry.cards import CardsError, building_cards, standalone_html
    from tongxin.registry.service import RegistryError, area_by_code

    err = Console(stderr=True)
    if out.suffix.lower() not in (".html", ".htm"):
        raise _fail(err, "输出文件须以 .html 结尾", "the output file must end in .html")
    with command_session() as session:
        try:
            node = area_by_code(session, building)
            # Outside the acting user's jurisdiction reads like an unknown area.
            if as_user is not None and not _acting_scope(
                session, as_user, "registry.read"
            ).contains(node):
                raise RegistryError("area_unknown", f"no area with code {building!r}")
        except RegistryError:
            raise _fail(
                err, f"没有编码为 {building} 的楼栋", f"no building with code {building!r}"
            ) from None
        except AccountError as exc:
            raise _fail(err, str(exc), str(exc)) from None
        try:
            sheet = building_cards(session, building=node)
        except CardsError:
            raise _fail(
                err,
                f"{building} 不是楼栋(是 {node.level}),住户卡按楼栋打印",
                f"{building} is a {node.level}, not a building; cards are printed per building",
            ) from None
        html = standalone_html(sheet)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise _fail(
            err, f"无法写入 {out}:{exc.strerror}", f"cannot write {out}: {exc.strerror}"
        ) from None
    summary = {
        "building": sheet.building.code,
        "households": sheet.households,
        "cards": sheet.cards,
        "pages": len(sheet.pages),
        "file": str(out),
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    typer.echo(
        f"已写入 {out}:{summary['households']} 户,{summary['cards']} 张卡,{summary['pages']} 页\n"
        f"wrote {out}: {summary['households']} households, {summary['cards']} cards, "
        f"{summary['pages']} pages"
    )
