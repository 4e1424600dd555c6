"""A channel-neutral `Reply` as Telegram messages: HTML text and an inline keyboard.

Pure translation, no SDK and no network, so it is tested on its own. Every piece of
dynamic text is HTML-escaped (Telegram rejects a message whose HTML it cannot parse, e.g.
a member called "<3"). The parts of one reply share as few messages as fit in Telegram's
4096 characters, and the buttons go under the last one.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from core.chat import Button, Card, Reply, progress_bar

MAX_MESSAGE_UNITS = 4096  # Telegram counts the visible text, in UTF-16 code units
SHORT_LABEL_WIDTH = 16  # labels up to this display width sit two to a row
BUTTONS_ONLY_TEXT = "👇"  # Telegram needs some text to hang a keyboard on

Style = Literal["b", "i"] | None
Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Line:
    """One line of a message: plain text, shown bold, italic or as is."""

    text: str
    style: Style = None

    @property
    def units(self) -> int:
        return utf16_units(self.text)

    def html(self) -> str:
        escaped = html.escape(self.text, quote=False)
        return f"<{self.style}>{escaped}</{self.style}>" if self.style and escaped else escaped


@dataclass(frozen=True)
class TelegramMessage:
    """One sendMessage call: HTML text, and the keyboard rows under it (maybe none)."""

    html: str
    keyboard: Keyboard = ()


def render(reply: Reply, *, limit: int = MAX_MESSAGE_UNITS) -> list[TelegramMessage]:
    """The messages to send for `reply`, in order; empty for an empty reply."""
    blocks = [lines for lines in (_block(part) for part in reply.texts) if lines]
    keyboard = keyboard_rows(reply.all_buttons())
    if not blocks:
        return [TelegramMessage(BUTTONS_ONLY_TEXT, keyboard)] if keyboard else []
    chunks = list(_pack(blocks, limit))
    messages = [TelegramMessage("\n".join(line.html() for line in chunk)) for chunk in chunks]
    messages[-1] = TelegramMessage(messages[-1].html, keyboard)
    return messages


def keyboard_rows(buttons: list[Button]) -> Keyboard:
    """Short labels two to a row, long ones on a row of their own."""
    rows: list[list[Button]] = []
    for button in buttons:
        short = display_width(button.label) <= SHORT_LABEL_WIDTH
        if short and rows and len(rows[-1]) == 1 and _is_short(rows[-1][0]):
            rows[-1].append(button)
        else:
            rows.append([button])
    return tuple(tuple(row) for row in rows)


def card_lines(card: Card) -> list[Line]:
    """A card as text: bold title, subtitle, bold highlight, "label: value" lines, a
    progress bar, an italic footer."""
    lines = [Line(card.title, "b")]
    if card.subtitle:
        lines.append(Line(card.subtitle))
    if card.highlight:
        lines.append(Line(card.highlight, "b"))
    lines.extend(Line(f"{label}: {value}") for label, value in card.fields)
    if card.progress is not None:
        bar = progress_bar(card.progress)
        lines.append(Line(f"{bar} {card.progress_label}" if card.progress_label else bar))
    if card.footer:
        lines.append(Line(card.footer, "i"))
    return lines


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _is_short(button: Button) -> bool:
    return display_width(button.label) <= SHORT_LABEL_WIDTH


def _block(part: str | Card) -> list[Line]:
    if isinstance(part, Card):
        return card_lines(part)
    text = part.strip("\n")
    return [Line(line) for line in text.split("\n")] if text.strip() else []


def _pack(blocks: list[list[Line]], limit: int) -> Iterator[list[Line]]:
    """Lines of all blocks (a blank line between blocks) packed into chunks whose visible
    text fits `limit`. A block moves whole to the next chunk when it fits there; only a
    block longer than a whole message is cut, between lines or, for a too-long line, inside."""
    chunk: list[Line] = []
    size = 0
    for block in blocks:
        lines = [piece for line in block for piece in _cut(line, limit)]
        block_size = sum(line.units for line in lines) + len(lines) - 1
        if chunk and size + 2 + block_size > limit and block_size <= limit:
            yield chunk
            chunk, size = [], 0
        if chunk:
            lines = [Line(""), *lines]
        for line in lines:
            extra = line.units + (1 if chunk else 0)
            if chunk and size + extra > limit:
                yield chunk
                chunk, size = [], 0
                if not line.text:
                    continue  # no blank line at the top of a message
                extra = line.units
            chunk.append(line)
            size += extra
    if chunk:
        yield chunk


def _cut(line: Line, limit: int) -> list[Line]:
    """A line longer than `limit` as several, cut at the last space where there is one."""
    if line.units <= limit:
        return [line]
    pieces: list[Line] = []
    rest = line.text
    while utf16_units(rest) > limit:
        end, units = 0, 0
        for index, char in enumerate(rest):
            units += utf16_units(char)
            if units > limit:
                end = index
                break
        space = rest.rfind(" ", 0, end)
        cut = space if space > end // 2 else end
        pieces.append(Line(rest[:cut], line.style))
        rest = rest[cut:].lstrip(" ") if space > end // 2 else rest[cut:]
    if rest:
        pieces.append(Line(rest, line.style))
    return pieces
