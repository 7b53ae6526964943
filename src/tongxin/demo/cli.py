"""`tongxin demo …`: build the synthetic district and run the demo."""

from __future__ import annotations

import typer

app = typer.Typer(help="Demo district.", no_args_is_help=True)
