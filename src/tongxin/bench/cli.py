"""`tongxin bench …`: benchmarks that print one JSON line each; never run as tests."""

from __future__ import annotations

import json
from enum import StrEnum

import typer

from tongxin.screening.cli_ledger import BATCH as CLI_INGEST_BATCH

app = typer.Typer(help="Benchmarks that print JSON figures.", no_args_is_help=True)


class BenchEngine(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


_PHASES = {
    "tree": "area tree / 建楼栋",
    "csv": "writing CSV / 生成文件",
    "import": "import / 导入",
    "baseline": "executemany baseline / 基线",
}


# Benchmarks that build a scratch database share these two options.
ENGINE_OPTION = typer.Option(BenchEngine.SQLITE, help="Database engine.")
SCRATCH_DATABASE_OPTION = typer.Option(
    None,
    help="PostgreSQL URL (default: TONGXIN_TEST_DATABASE_URL); a fresh schema is used and dropped.",
)


@app.command("import")
def bench_import(
    rows: int = typer.Option(100_000, min=1, help="Residents in the generated file."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    engine: BenchEngine = ENGINE_OPTION,
    database_url: str | None = SCRATCH_DATABASE_OPTION,
) -> None:
    """Time `registry import` of N valid rows against a plain executemany of the same rows."""
    from rich.console import Console
    from rich.progress import TaskID

    from tongxin.bench.importing import run_import_bench
    from tongxin.commands import progress_bar

    console = Console(stderr=True)
    with progress_bar(console) as bar:
        tasks: dict[str, TaskID] = {}

        def step(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = run_import_bench(
                rows=rows, engine_name=engine.value, database_url=database_url, step=step
            )
        except ValueError as exc:
            console.print(f"error: {exc}")
            raise typer.Exit(2) from None
    line = result.as_json()
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(
        f"{line['engine']}: {line['rows']} rows imported at {line['rows_per_s']:.0f} rows/s "
        f"({line['import_s']:.2f} s); executemany baseline {line['baseline_rows_per_s']:.0f} "
        f"rows/s ({line['baseline_s']:.2f} s); ratio {line['ratio']:.3f}"
    )


@app.command("pages")
def bench_pages(
    residents: int = typer.Option(1_000_000, min=1, help="Residents in the demo district."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    database_url: str | None = typer.Option(
        None, help="Database to build into (default: var/bench-pages-N.db, rebuilt each run)."
    ),
    reuse: bool = typer.Option(False, "--reuse", help="Reuse a district already built there."),
    replace: bool = typer.Option(
        False, "--replace", help="Empty --database-url first when it already holds a district."
    ),
    seed: int = typer.Option(20220923, help="Seed of the demo generator."),
    explain: bool = typer.Option(False, "--explain", help="Add the SQL plans to the JSON line."),
) -> None:
    """Time the largest community's resident list and phone search through the app."""
    from rich.console import Console

    from tongxin.bench.pages import BenchError, run_pages_bench

    console = Console(stderr=True)
    try:
        line = run_pages_bench(
            residents=residents,
            seed=seed,
            database_url=database_url,
            reuse=reuse,
            replace=replace,
            explain=explain,
            step=console.print,
        )
    except BenchError as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(
        f"{line['engine']}, {line['residents']} residents, community {line['community']} "
        f"({line['community_residents']}): list median {line['list_median_ms']} ms "
        f"(p95 {line['list_p95_ms']}), phone search median {line['phone_search_median_ms']} ms "
        f"(p95 {line['phone_search_p95_ms']}); raw SQL {line['baseline_list_median_ms']} ms"
    )


@app.command("ingest")
def bench_ingest(
    events: int = typer.Option(100_000, "--events", min=100, help="Events per measured path."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    engine: BenchEngine = ENGINE_OPTION,
    database_url: str | None = SCRATCH_DATABASE_OPTION,
    workers: list[int] = typer.Option(
        [1, 2], "--workers", help="Uvicorn worker counts to measure the HTTP path with."
    ),
    clients: int = typer.Option(4, min=1, help="Concurrent keep-alive HTTP clients."),
    rps: float = typer.Option(500, help="Single-event requests offered per second."),
    seconds: float = typer.Option(4, help="How long single-event requests are offered."),
) -> None:
    """Time capture: executemany baseline, ingest_events, HTTP batches, single-event latency."""
    from rich.console import Console

    from tongxin.bench.ingest import run_ingest_bench

    console = Console(stderr=True)
    try:
        line = run_ingest_bench(
            events=events,
            engine_name=engine.value,
            database_url=database_url,
            workers=workers,
            clients=clients,
            single_rps=rps,
            single_seconds=seconds,
            step=console.print,
        )
    except ValueError as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(
        f"{line['engine']}, {line['events']} events: baseline {line['baseline_rows_per_s']:.0f}"
        f" rows/s; service {line['service_events_per_s']:.0f}/s (×{line['service_ratio']});"
        f" HTTP {line['http_events_per_s']:.0f}/s (×{line['http_ratio']}, {line['workers']}"
        f" worker(s)); single-event p99 {line['single_p99_ms']} ms at {rps:.0f} requests/s"
    )


@app.command("city")
def bench_city(
    people: int = typer.Option(100_000, "--people", min=1000, help="Residents in the district."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    engine: BenchEngine = ENGINE_OPTION,
    database_url: str | None = SCRATCH_DATABASE_OPTION,
    batch: int | None = typer.Option(
        None,
        min=1,
        help=(
            "Events per ingest_events call (default: 4 per sampling station, at least"
            f" {CLI_INGEST_BATCH:,} as screening ingest)."
        ),
    ),
    seed: int = typer.Option(20220923, help="Seed of the district and the round."),
) -> None:
    """Run a whole round at 10:1 over a demo district and reconcile it; seconds per stage."""
    from rich.console import Console

    from tongxin.bench.city import run_city_bench

    console = Console(stderr=True)
    try:
        line = run_city_bench(
            people=people,
            engine_name=engine.value,
            database_url=database_url,
            batch=batch,
            seed=seed,
            step=console.print,
        )
    except ValueError as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    stages = ", ".join(f"{k} {v} s" for k, v in line["seconds"].items())
    typer.echo(
        f"{line['engine']}, {line['people']} residents, {line['events']} events: {stages};"
        f" total {line['total_s']} s; {line['mismatches']} mismatches"
    )


@app.command("routing")
def bench_routing(
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    sizes: str = typer.Option("100,400,1000", help="Stop counts, comma-separated."),
    time_limit_s: float | None = typer.Option(
        None,
        help="Seconds for a 400-stop plan (default TONGXIN_ROUTE_TIME_LIMIT_S), scaled by size.",
    ),
    longer: float = typer.Option(10.0, help="The reference run gets this many times as long."),
    seed: int = typer.Option(2022, help="Seed of the generated instances."),
) -> None:
    """Solve generated 100/400/1,000-stop CVRPTW instances; report time, distance, gap_pct."""
    from rich.console import Console

    from tongxin.bench.routing import run_routing_bench
    from tongxin.settings import get_settings

    console = Console(stderr=True)
    try:
        stop_counts = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        console.print(f"error: --sizes must be numbers: {sizes!r}")
        raise typer.Exit(2) from None
    result = run_routing_bench(
        sizes=stop_counts,
        base_time_limit_s=time_limit_s or get_settings().route_time_limit_s,
        longer=longer,
        seed=seed,
        step=lambda text: console.print(f"solving {text}"),
    )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    for row in result["sizes"]:
        typer.echo(
            f"{row['stops']} stops: {row['distance_km']} km in {row['solve_s']} s; "
            f"{row['longer_distance_km']} km in {row['longer_time_limit_s']} s; "
            f"gap {row['gap_pct']} %"
        )


@app.command("hotline")
def bench_hotline(
    cases: int = typer.Option(1_000_000, min=1, help="Cases stored before timing."),
    calls: int = typer.Option(200, min=1, help="Calls taken one by one for the intake timing."),
    repeats: int = typer.Option(15, min=1, help="Times each board page is loaded."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
    engine: BenchEngine = ENGINE_OPTION,
    database_url: str | None = SCRATCH_DATABASE_OPTION,
) -> None:
    """Time hotline intake and the supervisor board at N stored cases, with raw baselines."""
    from rich.console import Console

    from tongxin.bench.hotline import run_hotline_bench

    console = Console(stderr=True)
    try:
        line = run_hotline_bench(
            cases=cases,
            calls=calls,
            repeats=repeats,
            engine_name=engine.value,
            database_url=database_url,
            step=console.print,
        )
    except (ValueError, RuntimeError) as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(
        f"{line['engine']}, {line['cases']} cases ({line['open_cases']} open): intake median "
        f"{line['intake_median_ms']} ms (raw insert {line['baseline_insert_median_ms']} ms); "
        f"board median {line['board_median_ms']} ms (p95 {line['board_p95_ms']}); raw SQL "
        f"{line['baseline_board_sql_median_ms']} ms"
    )


@app.command("plan")
def bench_plan(
    residents: int = typer.Option(1_000_000, "--residents", min=1000, help="Residents to plan."),
    sites: int = typer.Option(
        400, "--sites", min=1, help="Sites to place (more if coverage needs)."
    ),
    simulated: int = typer.Option(
        10_000_000, "--simulated", min=1000, help="People in the simulated round."
    ),
    seed: int = typer.Option(20220923, help="Seed of the synthetic district."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON line on stdout."),
) -> None:
    """Time the staggered schedule (1 M residents, 400 sites) and a 10 M-person simulation."""
    from tongxin.bench.plan import run_plan_bench

    line = run_plan_bench(residents=residents, sites=sites, simulated_people=simulated, seed=seed)
    if as_json:
        typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(
        f"schedule {line['residents']} residents / {line['sites']} sites in {line['schedule_s']} s"
        f" (peak queue {line['peak_queue']}, gap {line['gap']:.1%}); simulation of"
        f" {line['simulated_people']} people in {line['simulation_s']} s"
    )
