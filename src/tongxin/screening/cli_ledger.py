"""`tongxin screening` commands: ingest field events, resolve rejected ones, rebuild."""

from __future__ import annotations

import typer

app = typer.Typer()
