"""`cxp serve`: the web workspace and the HTTP API, served by uvicorn."""
from __future__ import annotations

import os
from typing import Optional

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import CliError


@handle_errors
def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          workers: int = typer.Option(1, "--workers", min=1, max=64, help="worker processes"),
          db: Optional[str] = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL)"),
          ) -> None:
    """Serve the web workspace and the HTTP API (OpenAPI at /openapi.json, docs at /docs) on an
    initialised database; Ctrl-C stops it."""
    import uvicorn

    from workflows.db.schema import schema_problem

    from workflows.web.app import create_app

    cxp = app_for(db)  # a missing database or a server that does not answer: one sentence, exit 2
    problem = schema_problem(cxp.db)
    if problem:
        cxp.close()
        raise CliError(f"{'--db' if db else 'CXP_DATABASE_URL'}: {problem}")
    typer.echo(f"serving ClusterXchange on http://{host}:{port}/ (API docs: http://{host}:{port}/docs); "
               "Ctrl-C stops it", err=True)
    options = {"host": host, "port": port, "log_level": "info", "proxy_headers": False}
    if workers == 1:
        uvicorn.run(create_app(application=cxp), **options)
        return
    cxp.close()
    if db:
        os.environ["CXP_DATABASE_URL"] = db  # each worker process builds its application from the environment
    uvicorn.run("workflows.web.app:serve_app", factory=True, workers=workers, **options)
