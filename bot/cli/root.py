"""The root `loyalty` command (Typer): the commands of the other modules, put together.
Each command starts through `bot.cli.setup`, which also holds the exit codes."""

from __future__ import annotations

import typer

from bot.cli.admin import admin_app, token_app
from bot.cli.campaigns import campaign_app
from bot.cli.chat import chat
from bot.cli.demo import demo, stats
from bot.cli.imports import import_app
from bot.cli.line import line_app
from bot.cli.model import model
from bot.cli.server import migrate, serve
from bot.cli.telegram import telegram_app

app = typer.Typer(
    help="A chat-first loyalty programme for LINE and Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
for command in (migrate, serve, chat, demo, stats, model):
    app.command()(command)
app.add_typer(admin_app, name="admin")
app.add_typer(token_app, name="token")
app.add_typer(telegram_app, name="telegram")
app.add_typer(line_app, name="line")
app.add_typer(campaign_app, name="campaign")
app.add_typer(import_app, name="import")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
