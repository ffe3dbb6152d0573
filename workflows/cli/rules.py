"""`cxp rules ...` — owned by the programme-rules work (issue 3)."""
from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
