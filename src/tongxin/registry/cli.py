"""`tongxin registry …`: import, export and look up residents."""

from __future__ import annotations

import typer

app = typer.Typer(help="Area tree, households and residents.", no_args_is_help=True)
