"""`tongxin screening` commands: Lab results (CSV, xlsx, HL7 v2, API) and the FHIR R4 export."""

from __future__ import annotations

import typer

app = typer.Typer()
