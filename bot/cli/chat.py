"""`loyalty chat`: talk to the bot in the terminal, through the console channel."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import setup


def chat(
    user: Annotated[str, typer.Option(help="Who you are in the chat.")] = "console-user",
    admin: Annotated[bool, typer.Option(help="Give this console user admin rights.")] = False,
) -> None:
    """Talk to the bot in the terminal (same dialogs as LINE and Telegram)."""
    from bot.inbound import run_chat

    settings = setup.settings()
    if admin:
        settings.admins.append(("console", user))
    with setup.opened(settings) as services:
        run_chat(services, user=user)
