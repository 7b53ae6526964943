"""`tongxin screening` commands: Reconciliation, coverage and per-building exports."""

from __future__ import annotations

import typer

app = typer.Typer()
