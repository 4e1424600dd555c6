"""Talking to the dialogs in tests, the way a member would: transcripts that read like a chat."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.dialogs import Dialogs
from core.chat import Button, Incoming, Outcome, Reply, parse_command

_events = itertools.count(1)


class ChatUser:
    """One chat user. `say` sends text or a command; `tap` presses a button of the last reply."""

    def __init__(
        self,
        dialogs: Dialogs,
        name: str,
        *,
        channel: str = "console",
        language: str | None = None,
        event_ids: bool = True,
    ) -> None:
        self.dialogs = dialogs
        self.name = name
        self.channel = channel
        self.language = language
        self.event_ids = event_ids
        self.last: Outcome | None = None
        self.sent: Incoming | None = None
        self.transcript: list[tuple[str, str]] = []

    def _send(self, incoming: Incoming) -> Outcome:
        self.sent = incoming
        self.last = self.dialogs.handle(incoming)
        self.transcript.append((incoming.text or incoming.payload or incoming.kind, self.text))
        return self.last

    def _base(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "user_id": self.name,
            "display_name": self.name.title(),
            "language": self.language,
            "event_id": str(next(_events)) if self.event_ids else None,
        }

    def say(self, text: str) -> Outcome:
        command, args = parse_command(text)
        return self._send(
            Incoming(kind="message", text=text, command=command, args=args, **self._base())
        )  # type: ignore[arg-type]

    def tap(self, label: str) -> Outcome:
        """Tap the first button of the last reply whose label contains `label`."""
        return self.press(self.button(label))

    def press(self, button: Button) -> Outcome:
        return self._send(
            Incoming(kind="button", payload=button.payload, text=button.label, **self._base())
        )  # type: ignore[arg-type]

    def resend(self) -> Outcome:
        """The platform delivers the last message again, with the same event id."""
        assert self.sent is not None, "nothing was said yet"
        return self._send(self.sent)

    def follow(self) -> Outcome:
        return self._send(Incoming(kind="follow", **self._base()))  # type: ignore[arg-type]

    def button(self, label: str) -> Button:
        for candidate in self.buttons:
            if label.lower() in candidate.label.lower():
                return candidate
        raise AssertionError(f"no button {label!r} in {[b.label for b in self.buttons]}")

    @property
    def buttons(self) -> list[Button]:
        return self.last.reply.all_buttons() if self.last else []

    @property
    def reply(self) -> Reply:
        assert self.last is not None, "nothing was said yet"
        return self.last.reply

    @property
    def text(self) -> str:
        return self.reply.as_text() if self.last else ""


def verify_dialog(user: ChatUser, exchanges: Sequence[tuple[str, str | Sequence[str]]]) -> None:
    """Say each message (or `tap:Label`) and check the reply contains each expected piece."""
    for message, expected in exchanges:
        if message.startswith("tap:"):
            user.tap(message[4:])
        else:
            user.say(message)
        pieces = [expected] if isinstance(expected, str) else list(expected)
        for piece in pieces:
            assert piece in user.text, f"after {message!r} expected {piece!r} in:\n{user.text}"
