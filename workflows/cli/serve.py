"""`cxp serve`: the web workspace and the HTTP API, served by uvicorn."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import CliError

if TYPE_CHECKING:
    from workflows.app import App


@handle_errors
def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          workers: int = typer.Option(1, "--workers", min=1, max=64, help="worker processes"),
          db: str | None = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL)"),
          ) -> None:
    """Serve the web workspace and the HTTP API (OpenAPI at /openapi.json, docs at /docs) on an
    initialised database; Ctrl-C stops it."""
    import uvicorn

    from workflows.services.setup import schema_problem
    from workflows.settings import SettingsError, check_serving
    from workflows.web.app import create_app

    cxp = app_for(db)  # a missing database or a server that does not answer: one sentence, exit 2
    try:
        check_serving(cxp.settings)  # production: its own secret key (the session cookies) and audit key
    except SettingsError as err:
        cxp.close()
        raise CliError(str(err)) from None
    problem = schema_problem(cxp)
    if problem:
        cxp.close()
        raise CliError(f"{'--db' if db else 'CXP_DATABASE_URL'}: {problem}")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"serving ClusterXchange on http://{shown}:{port}/ (API docs: http://{shown}:{port}/docs); "
               "Ctrl-C stops it", err=True)
    _print_signins(cxp)
    if workers == 1:
        uvicorn.run(create_app(application=cxp), host=host, port=port, log_level="info", proxy_headers=False)
        return
    cxp.close()
    if db:
        os.environ["CXP_DATABASE_URL"] = db  # each worker process builds its application from the environment
    uvicorn.run("workflows.web.app:serve_app", factory=True, workers=workers, host=host, port=port,
                log_level="info", proxy_headers=False)


def _print_signins(cxp: App) -> None:
    """In development mode, a few of the demo's users to sign in as (those the database holds)."""
    if not cxp.settings.development:
        return
    from workflows.demo.signins import demo_signins

    found = [s for s in demo_signins(cxp) if s.password]
    if found:
        typer.echo("sign in as (development mode; password from CXP_DEMO_PASSWORD):", err=True)
    for s in found:
        typer.echo(f"  {s.username:<18} {s.password:<8} {s.role:<14} {s.why}", err=True)
