"""`tongxin screening …`: each part of the ledger adds its commands from its own module.

Parts: `cli_setup` (rounds, labs, sites, tubes), `cli_ledger` (ingest, events),
`cli_results` (lab results, FHIR), `cli_read` (reconcile, coverage, exports). Each defines
`app = typer.Typer()`; `build_app()` merges their commands under one group.
"""

from __future__ import annotations

import typer


def build_app() -> typer.Typer:
    """Return the `screening` group with every part's commands merged in."""
    from tongxin.screening import cli_ledger, cli_read, cli_results, cli_setup

    app = typer.Typer(help="Mass-testing rounds and the custody ledger.", no_args_is_help=True)
    for part in (cli_setup, cli_ledger, cli_results, cli_read):
        app.add_typer(part.app)
    return app
