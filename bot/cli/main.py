"""The `loyalty` command line (Typer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from bot.app import SettingsError
from bot.cli.admin import admin_app, token_app
from bot.cli.campaigns import campaign_app
from bot.cli.demo import demo, stats
from bot.cli.imports import import_app
from bot.cli.line import line_app
from bot.cli.model import model
from bot.cli.telegram import telegram_app
from core.kernel import ConfigError

app = typer.Typer(
    help="A chat-first loyalty programme for LINE and Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
T = TypeVar("T")
app.add_typer(admin_app, name="admin")
app.add_typer(token_app, name="token")
app.add_typer(telegram_app, name="telegram")
app.add_typer(line_app, name="line")
app.add_typer(campaign_app, name="campaign")
app.add_typer(import_app, name="import")


def configured(build: Callable[[], T]) -> T:
    """Run `build`; a bad setting or programme file exits 2 with the file and field named."""
    try:
        return build()
    except (SettingsError, ConfigError) as exc:
        err.print(f"[red]configuration error[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest migration."""
    from bot.app import bootstrap

    services = configured(lambda: bootstrap(migrate=True))
    typer.echo(f"database up to date ({services.database.dialect})")
    services.close()


@app.command()
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

    from bot.app import bootstrap, shared_metrics
    from bot.web import create_app

    services = configured(lambda: bootstrap(migrate=True))
    if workers == 1:
        app = create_app(services, scheduler=services.settings.scheduler_enabled)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    dialect = services.database.dialect
    services.close()
    if dialect != "postgresql":
        err.print(
            f"[red]--workers {workers}[/red] needs PostgreSQL (LOYALTY_DATABASE_URL): "
            f"a {dialect} database is served by one process.",
            highlight=False,
        )
        raise typer.Exit(2)
    with shared_metrics():  # /metrics answers for all the processes, whichever is asked
        uvicorn.run(
            "bot.web:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
        )


@app.command()
def chat(
    user: Annotated[str, typer.Option(help="Who you are in the chat.")] = "console-user",
    admin: Annotated[bool, typer.Option(help="Give this console user admin rights.")] = False,
) -> None:
    """Talk to the bot in the terminal (same dialogs as LINE and Telegram)."""
    from bot.app import bootstrap, load_settings
    from bot.inbound import run_chat

    def build():  # type: ignore[no-untyped-def]
        settings = load_settings()
        if admin:
            settings.admins.append(("console", user))
        return bootstrap(settings, migrate=True)

    services = configured(build)
    try:
        run_chat(services, user=user)
    finally:
        services.close()


app.command()(demo)
app.command()(stats)
app.command()(model)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
