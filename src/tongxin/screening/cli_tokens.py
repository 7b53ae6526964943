"""`tongxin tokens` commands: device tokens scoped to a site or a lab and a round."""

from __future__ import annotations

import typer

app = typer.Typer(help="Device tokens for field devices.", no_args_is_help=True)
