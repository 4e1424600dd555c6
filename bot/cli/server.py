"""`loyalty migrate` and `loyalty serve`: the database schema and the running app."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import setup


def migrate() -> None:
    """Upgrade the database to the newest migration."""
    with setup.opened() as services:
        typer.echo(f"database up to date ({services.database.dialect})")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes on this port (PostgreSQL only). Each handles webhooks and "
            "drains the inbox and the outbox; one of them runs the scheduler; Telegram's "
            "global send limit is shared out between them.",
        ),
    ] = 1,
) -> None:
    """Migrate if needed, then run the web app (webhooks, admin API) and the scheduler."""
    import uvicorn

    from bot.app import shared_metrics
    from bot.web import create_app

    services = setup.services()
    if workers == 1:
        app = create_app(services, scheduler=services.settings.scheduler_enabled)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    dialect = services.database.dialect
    services.close()
    if dialect != "postgresql":
        raise setup.usage_error(
            "needs PostgreSQL (LOYALTY_DATABASE_URL): "
            f"a {dialect} database is served by one process.",
            label=f"--workers {workers}",
        )
    with shared_metrics():  # /metrics answers for all the processes, whichever is asked
        uvicorn.run(
            "bot.web:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
        )
