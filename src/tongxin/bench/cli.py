"""`tongxin bench …`: benchmarks that print one JSON line each; never run as tests."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Benchmarks that print JSON figures.", no_args_is_help=True)


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
