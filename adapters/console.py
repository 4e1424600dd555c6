"""The console channel: the same dialogs in a terminal, with buttons as numbered choices."""

from __future__ import annotations

import itertools
from typing import Any

from core.chat import Button, Incoming, Reply, parse_command


class ConsoleChannel:
    """Turns typed lines into incoming messages and replies into text. Typing the number of
    a button shown in the last reply taps it."""

    channel = "console"

    def __init__(
        self, user_id: str, *, display_name: str | None = None, language: str | None = None
    ) -> None:
        self.user_id = user_id
        self.display_name = display_name or user_id
        self.language = language
        self._buttons: list[Button] = []
        self._events = itertools.count(1)

    def incoming(self, line: str) -> Incoming:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        base: dict[str, Any] = {
            "channel": self.channel,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "language": self.language,
        }
        # A button's own label wins over its number: on a 0–10 survey scale, "9" means 9.
        labelled = [button for button in self._buttons if button.label == stripped]
        if labelled:
            chosen = labelled[0]
            return Incoming(kind="button", payload=chosen.payload, text=chosen.label, **base)
        if stripped.isdigit() and 1 <= int(stripped) <= len(self._buttons):
            chosen = self._buttons[int(stripped) - 1]
            if chosen.payload:
                return Incoming(kind="button", payload=chosen.payload, text=chosen.label, **base)
        command, args = parse_command(stripped)
        return Incoming(kind="message", text=text, command=command, args=args, **base)

    def render(self, reply: Reply) -> str:
        """The reply as text; its buttons become the numbered choices for the next line."""
        self._buttons = [b for b in reply.all_buttons() if b.payload]
        return reply.as_text()
