"""The shape of the table the router dispatches on: commands, buttons, chat states and text
handlers. The table itself is bot/dialogs/table.py; building one refuses two entries that
claim the same command, button prefix or state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from bot.dialogs.turn import Turn
from bot.i18n import Translator
from core.chat import Reply

Handler = Callable[[Turn], Reply]
ButtonHandler = Callable[[Turn, list[str]], Reply]
TextHandler = Callable[[Turn, str], Reply | None]

# `cmd:<name>` buttons run the command <name>: no button handler may claim the prefix.
COMMAND_PREFIX = "cmd"


@dataclass(frozen=True)
class Command:
    """A slash command (on LINE, the word typed). Admin commands are refused (and audited)
    for non-admins; a command that needs a signed-up member asks anyone else to join."""

    name: str
    handler: Handler
    admin: bool = False
    needs_signup: bool = True


@dataclass(frozen=True)
class ButtonRoute:
    """The handler of button payloads `prefix:arg1:arg2…`. A tap reaches it whoever taps,
    so one that needs a signed-up member asks anyone else to join."""

    prefix: str
    handler: ButtonHandler
    needs_signup: bool = True


@dataclass(frozen=True)
class StateRoute:
    """The handler of free text while the user's chat is in `state` (a guided step); it
    returns None to let the text through."""

    state: str
    handler: TextHandler


V = TypeVar("V")


class Table:
    """Every command, button, state and text handler of the dialogs, looked up by name.

    `texts` are offered, in order, every free text that is neither a command nor taken by
    the chat's state; each returns None to pass (typed survey answers, invite codes typed
    on LINE)."""

    def __init__(
        self,
        *,
        commands: Iterable[Command],
        buttons: Iterable[ButtonRoute],
        states: Iterable[StateRoute],
        texts: Sequence[TextHandler],
    ) -> None:
        self.commands: Mapping[str, Command] = _unique(commands, lambda c: c.name, "command")
        self.buttons: Mapping[str, ButtonRoute] = _unique(buttons, lambda b: b.prefix, "button")
        self.states: Mapping[str, StateRoute] = _unique(states, lambda s: s.state, "state")
        self.texts: tuple[TextHandler, ...] = tuple(texts)
        if COMMAND_PREFIX in self.buttons:
            raise ValueError(f"the button prefix {COMMAND_PREFIX!r} is the router's own")

    def member_commands(self) -> list[str]:
        """The commands every member may use, in the table's order."""
        return [name for name, command in self.commands.items() if not command.admin]

    def member_command(self, name: str) -> Handler | None:
        """The handler of the member command `name`; None for an admin or unknown one."""
        command = self.commands.get(name)
        return None if command is None or command.admin else command.handler

    def command_for_word(self, t: Translator, text: str) -> str | None:
        """LINE members type commands as words ("points", "點數"); the command a lone word
        names (a member command's own name, or any command's alias in the catalog)."""
        word = text.strip().lstrip("/").lower()
        if self.member_command(word) is not None:
            return word
        for name in self.commands:
            key = f"aliases.{name}"
            if t.has(key) and word in {alias.strip().lower() for alias in t(key).split(",")}:
                return name
        return None


def _unique(entries: Iterable[V], key: Callable[[V], str], what: str) -> Mapping[str, V]:
    """The entries by name, read-only, refusing a name claimed twice."""
    table: dict[str, V] = {}
    for entry in entries:
        name = key(entry)
        if name in table:
            raise ValueError(f"two {what} entries claim {name!r}")
        table[name] = entry
    return MappingProxyType(table)
