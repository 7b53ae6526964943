"""`tongxin demo …`: build the synthetic district and run the demo."""

from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import replace as replace_fields
from typing import TYPE_CHECKING

import typer

from tongxin.settings import Settings, get_settings

if TYPE_CHECKING:
    from tongxin.demo.service import BuildSummary, DemoLogin

app = typer.Typer(help="Demo district.", no_args_is_help=True)

DEMO_URL_TEMPLATE = "http://{host}:{port}"


def ensure_demo_keys(settings: Settings) -> None:
    """Write a personal-data key file on a fresh clone, so the demo runs with one command.

    Only when no key is configured at all; the file lands under var/ (git-ignored) and is
    never committed. Production sets its keys itself (docs/security.md).
    """
    from pathlib import Path

    from tongxin.privacy.keys import write_key_file

    path = Path(settings.pii_key_file) if settings.pii_key_file else None
    if settings.pii_keys.strip() or path is None or path.exists():
        return
    kid = write_key_file(path)
    typer.echo(
        f"wrote personal-data key {kid} to {path} (keep it; it is not in the database)", err=True
    )


def run_build(
    settings: Settings,
    *,
    residents: int,
    seed: int,
    replace: bool = False,
    show_progress: bool = True,
    with_round: bool = True,
) -> tuple[BuildSummary, list[DemoLogin]]:
    """Migrate, build the district with a progress bar on stderr and create the demo users.

    With `with_round` the demo's round R1 (sites, a lab, tubes) is added too
    (`tongxin.demo.round`); benchmarks that only need residents leave it out.
    """
    from rich.console import Console

    from tongxin import migrate
    from tongxin.commands import progress_bar
    from tongxin.db import make_engine, make_sessionmaker, session_scope
    from tongxin.demo import round as demo_round
    from tongxin.demo import service

    ensure_demo_keys(settings)
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        if replace:
            service.empty_database(engine)
        progress = progress_bar(
            Console(stderr=True), label="[bold]白云区[/bold] 生成居民", disable=not show_progress
        )
        with progress:
            task = progress.add_task("residents", total=residents)
            summary = service.build_district(
                engine,
                residents=residents,
                seed=seed,
                batch_rows=settings.import_batch_rows,
                on_progress=lambda n: progress.advance(task, n),
            )
        with session_scope(make_sessionmaker(engine)) as session:
            logins = service.create_demo_users(session)
        if with_round and not demo_round.has_round(engine):
            made = demo_round.add_demo_round(engine)
            summary = replace_fields(summary, round=made)
            typer.echo(
                f"第一轮全员核酸 {made.code}: {made.sites} 个采样点, {made.stations} 个采样台,"
                f" {made.tubes} 支采样管 / round {made.code}: {made.sites} sites,"
                f" {made.stations} stations, {made.tubes} tubes",
                err=True,
            )
    finally:
        engine.dispose()
    return summary, logins


def summary_json(summary: BuildSummary, logins: list[DemoLogin]) -> dict[str, object]:
    """Return the build summary and the logins as one JSON-ready dict."""
    out: dict[str, object] = asdict(summary)
    out["as_of"] = summary.as_of.isoformat()
    out["logins"] = [login.as_dict() for login in logins]
    return out


def print_logins(logins: list[DemoLogin], *, url: str | None = None) -> None:
    """Print the demo accounts as a table (and the URL to open) on stdout."""
    from rich.console import Console
    from rich.table import Table

    from tongxin.accounts.rules import ROLE_LABELS_ZH

    console = Console()
    if url:
        console.print(f"打开 / open: [bold]{url}[/bold]")
    table = Table(title="演示账号 demo logins (demo passwords, never use in production)")
    for column in ("用户名 username", "密码 password", "角色 role", "辖区 area"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.password, ROLE_LABELS_ZH[login.role], login.area_code)
    console.print(table)


@app.command("build")
def build(
    residents: int | None = typer.Option(
        None, "--residents", min=1, help="Residents to generate (default: settings.demo_residents)."
    ),
    seed: int | None = typer.Option(None, help="Generator seed (default: settings.demo_seed)."),
    replace: bool = typer.Option(
        False, "--replace", help="Empty every Tongxin table first, then build."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Generate the 白云区 demo district and the demo users in the configured database."""
    from tongxin.demo.service import DemoError

    settings = get_settings()
    try:
        summary, logins = run_build(
            settings,
            residents=residents or settings.demo_residents,
            seed=settings.demo_seed if seed is None else seed,
            replace=replace,
        )
    except DemoError as exc:
        typer.echo(
            f"error [{exc.code}]: {exc}; `tongxin demo build --replace` empties it first", err=True
        )
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(summary_json(summary, logins), ensure_ascii=False))
        return
    typer.echo(
        f"built {summary.residents} residents in {summary.households} households and "
        f"{summary.areas} areas in {summary.seconds} s; largest community "
        f"{summary.largest_community_name} ({summary.largest_community_code}, "
        f"{summary.largest_community_residents} residents)"
    )
    print_logins(logins)


@app.command("up")
def up() -> None:
    """Migrate, build the demo district if the database has none, then serve it."""
    import uvicorn

    from tongxin import migrate
    from tongxin.db import make_engine, make_sessionmaker, session_scope
    from tongxin.demo import round as demo_round
    from tongxin.demo import service

    settings = get_settings()
    ensure_demo_keys(settings)
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            built = service.has_district(connection)
    finally:
        engine.dispose()
    if built:
        engine = make_engine(settings)
        try:
            with session_scope(make_sessionmaker(engine)) as session:
                logins = service.existing_demo_logins(session)
            # A demo database built before the demo had a round gets it now.
            if not demo_round.has_round(engine):
                demo_round.add_demo_round(engine)
        finally:
            engine.dispose()
        typer.echo("demo district already built; reusing it", err=True)
    else:
        typer.echo(f"building the demo district ({settings.demo_residents} residents)", err=True)
        _, logins = run_build(settings, residents=settings.demo_residents, seed=settings.demo_seed)
    print_logins(logins, url=DEMO_URL_TEMPLATE.format(host=settings.host, port=settings.port))
    uvicorn.run(
        "tongxin.web.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level="info",
    )
