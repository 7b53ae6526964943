"""`tongxin bench …`: benchmarks that print one JSON line each; never run as tests."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print JSON figures.", no_args_is_help=True)
