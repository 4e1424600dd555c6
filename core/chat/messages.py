"""Channel-neutral chat messages: what a member sent, and what the bot answers.

Adapters turn platform updates into `Incoming` and render `Reply` with native elements
(Telegram inline keyboards, LINE quick replies and Flex cards). Anything a channel cannot
show falls back to plain text here, in one place, so a new channel works on day one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

IncomingKind = Literal["message", "button", "follow", "unfollow", "blocked", "unblocked"]
MAX_PAYLOAD_BYTES = 64  # Telegram callback data limit; LINE postback data allows more
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Incoming:
    """One thing a chat user did: sent text or a command, tapped a button, followed or
    blocked the bot."""

    channel: str
    user_id: str
    kind: IncomingKind = "message"
    text: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    payload: str | None = None
    display_name: str | None = None
    language: str | None = None
    event_id: str | None = None
    chat_id: str | None = None
    reply_token: str | None = None  # a channel's one-time handle for answering (LINE)
    received_at: datetime | None = None

    @property
    def address(self) -> str:
        """Where replies go: the chat (Telegram group or private chat), else the user."""
        return self.chat_id or self.user_id


def parse_command(text: str) -> tuple[str | None, tuple[str, ...]]:
    """`/sale M000123 500` → ("sale", ("M000123", "500")). Also accepts `/sale@MyBot` and,
    for LINE where users type, a command without the slash is not treated as one."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None, ()
    head, *rest = stripped.split()
    name = head[1:].split("@", 1)[0].lower()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None, ()
    return name, tuple(rest)


@dataclass(frozen=True)
class Button:
    """A tappable choice. `payload` comes back as `Incoming.payload` when tapped; a button
    with `url` opens a link instead."""

    label: str
    payload: str = ""
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.url and not 1 <= len(self.payload.encode()) <= MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"button payload must be 1–{MAX_PAYLOAD_BYTES} bytes: {self.payload!r}"
            )


CardKind = Literal["points", "coupon", "tier", "member", "generic"]


@dataclass(frozen=True)
class Card:
    """A rich card (LINE Flex bubble; on Telegram, formatted text). Labels and values are
    already localised by the dialog."""

    kind: CardKind
    title: str
    fields: tuple[tuple[str, str], ...] = ()
    subtitle: str | None = None
    highlight: str | None = None
    progress: float | None = None  # 0..1, e.g. toward the next tier
    progress_label: str | None = None
    footer: str | None = None
    buttons: tuple[Button, ...] = ()

    def as_text(self) -> str:
        lines = [f"【{self.title}】"]
        if self.subtitle:
            lines.append(self.subtitle)
        if self.highlight:
            lines.append(self.highlight)
        lines.extend(f"{label}: {value}" for label, value in self.fields)
        if self.progress is not None:
            lines.append(
                progress_bar(self.progress)
                + (f" {self.progress_label}" if self.progress_label else "")
            )
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)


def progress_bar(fraction: float, width: int = 10) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "▓" * filled + "░" * (width - filled)


@dataclass
class Reply:
    """What the bot answers: texts and cards in order, then buttons under the last one."""

    texts: list[str | Card] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    @classmethod
    def text(cls, *texts: str, buttons: list[Button] | None = None) -> Reply:
        return cls(texts=list(texts), buttons=list(buttons or []))

    def add(self, part: str | Card) -> Reply:
        self.texts.append(part)
        return self

    @property
    def empty(self) -> bool:
        return not self.texts and not self.buttons

    def all_buttons(self) -> list[Button]:
        """Buttons of the reply and of its cards, in order."""
        found: list[Button] = []
        for part in self.texts:
            if isinstance(part, Card):
                found.extend(part.buttons)
        return found + self.buttons

    def as_text(self, numbered_buttons: bool = True) -> str:
        """The plain-text fallback: cards as text, buttons as numbered choices."""
        blocks = [part.as_text() if isinstance(part, Card) else part for part in self.texts]
        buttons = self.all_buttons()
        if buttons and numbered_buttons:
            blocks.append(
                "\n".join(
                    f"[{index}] {button.label}" + (f" ({button.url})" if button.url else "")
                    for index, button in enumerate(buttons, start=1)
                )
            )
        return "\n\n".join(block for block in blocks if block)


@dataclass(frozen=True)
class Notice:
    """A message to another member caused by this interaction (a staff /sale tells the member
    what they earned; an accepted invite tells the referrer)."""

    member_id: int
    reply: Reply
    kind: str = "notice"


@dataclass
class Outcome:
    """Everything one incoming message produced."""

    reply: Reply
    notices: list[Notice] = field(default_factory=list)
