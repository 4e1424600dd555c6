"""`loyalty chat`: talk to the bot in a terminal through the console channel."""

from __future__ import annotations

import sys
from typing import TextIO

from adapters.console import ConsoleChannel
from bot.app import Services
from bot.dialogs import Dialogs
from core.chat import Outcome


def run_chat(
    services: Services,
    *,
    user: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    interactive: bool | None = None,
) -> None:
    """Interactive with a prompt on a terminal; otherwise one message per input line, with
    the transcript printed, so it can be scripted."""
    interactive = stdin.isatty() if interactive is None else interactive
    dialogs = Dialogs(services)
    console = ConsoleChannel(user, display_name=user.title())
    if interactive:
        stdout.write(
            f"Talking to the bot as {user!r}. Type /help, a number to tap a button, "
            "or Ctrl-D to leave.\n"
        )
    while True:
        if interactive:
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if not interactive:
            stdout.write(f"> {line.rstrip()}\n")
        outcome = dialogs.handle(console.incoming(line))
        stdout.write(render_outcome(console, outcome) + "\n\n")
        stdout.flush()


def render_outcome(console: ConsoleChannel, outcome: Outcome) -> str:
    lines = [indent("bot", console.render(outcome.reply))] if not outcome.reply.empty else []
    for notice in outcome.notices:
        lines.append(indent(f"to member #{notice.member_id}", notice.reply.as_text()))
    return "\n".join(lines)


def indent(who: str, text: str) -> str:
    head, *rest = text.splitlines() or [""]
    pad = " " * (len(who) + 2)
    return "\n".join([f"{who}: {head}", *(pad + line for line in rest)])
