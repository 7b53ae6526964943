"""`tongxin screening` commands: Round set-up: rounds, labs, sites and stations, tube barcodes."""

from __future__ import annotations

import typer

app = typer.Typer()
