"""The command and button tables the router dispatches on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.dialogs.turn import Turn
from core.chat import Reply

Handler = Callable[[Turn], Reply]
ButtonHandler = Callable[[Turn, list[str]], Reply]
TextHandler = Callable[[Turn, str], Reply | None]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    admin: bool
    needs_signup: bool


COMMANDS: dict[str, Command] = {}
BUTTONS: dict[str, ButtonHandler] = {}
STATE_HANDLERS: dict[str, TextHandler] = {}
TEXT_HANDLERS: list[TextHandler] = []


def command(
    name: str, *, admin: bool = False, needs_signup: bool = True
) -> Callable[[Handler], Handler]:
    """Register a slash command. Admin commands are refused (and audited) for non-admins;
    most member commands need a signed-up member."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name=name, handler=handler, admin=admin, needs_signup=needs_signup)
        return handler

    return register


def button(prefix: str) -> Callable[[ButtonHandler], ButtonHandler]:
    """Register a handler for button payloads `prefix:arg1:arg2…`."""

    def register(handler: ButtonHandler) -> ButtonHandler:
        BUTTONS[prefix] = handler
        return handler

    return register


def on_state(state: str) -> Callable[[TextHandler], TextHandler]:
    """Register a handler for free text while the user's chat is in `state`."""

    def register(handler: TextHandler) -> TextHandler:
        STATE_HANDLERS[state] = handler
        return handler

    return register


def on_text(handler: TextHandler) -> TextHandler:
    """Register a handler offered every free text that is not a command, in order; it
    returns None to pass (typed survey answers, invite codes typed on LINE)."""
    TEXT_HANDLERS.append(handler)
    return handler
