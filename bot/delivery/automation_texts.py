"""Automation messages in words: the catalogs (bot/locales/*/automations.toml) render what
core.automations says is due, in every language, into the outbox's content.

Rendered when the delivery is written, so the sender only picks the member's language, and
a message reads the same whenever it goes out (quiet hours may hold it until morning).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time
from typing import Any

from bot.app import Services, enabled_channels
from bot.i18n import LOCALES, Translator
from core.automations import Due, Render, Sending
from core.programme import Programme


def catalog_renderer(programme: Programme) -> Render:
    """Render a due message with the catalogs, a text and button labels per locale."""

    def render(due: Due) -> dict[str, Any]:
        texts: dict[str, str] = {}
        labels: dict[str, dict[str, str]] = {name: {} for name in due.commands}
        for locale in LOCALES:
            t = Translator(locale, timezone=programme.zone, currency=programme.currency)
            texts[locale] = "\n\n".join(paragraph(t, item) for item in due.parts)
            for name in due.commands:
                labels[name][locale] = t(f"automation.button.{name}")
        buttons = [
            {"label": labels[name], "action": "command", "value": name} for name in due.commands
        ]
        return {"text": texts, "buttons": buttons}

    return render


def paragraph(t: Translator, item: dict[str, Any]) -> str:
    """One part: a catalog key, or the programme's own words, with its parameters filled."""
    params = {name: value_text(t, value) for name, value in item.get("params", {}).items()}
    if "text" in item:
        try:
            return t.pick(item["text"]).format_map(params)
        except (KeyError, IndexError, ValueError):
            return t.pick(item["text"])  # a stray brace in a configured message
    return t(item["key"], **params)


def value_text(t: Translator, value: Any) -> str:
    """A parameter as the member reads it: words in their language, dates, numbers."""
    if isinstance(value, dict) and "text" in value:
        return t.pick(value["text"])
    if isinstance(value, dict) and "date" in value:
        noon = datetime.combine(date.fromisoformat(value["date"]), time(12), tzinfo=t.zone)
        return t.date(noon)
    if isinstance(value, dict) and "money" in value:
        return t.money(value["money"])
    if isinstance(value, int) and not isinstance(value, bool):
        return t.number(value)
    return str(value)


def push_channels(services: Services) -> Collection[str]:
    """The chat channels messages can go out on: those the settings switch on."""
    return enabled_channels(services.settings)


def automation_sending(services: Services, channels: Collection[str] | None = None) -> Sending:
    return Sending(
        channels=push_channels(services) if channels is None else channels,
        render=catalog_renderer(services.programme),
    )
