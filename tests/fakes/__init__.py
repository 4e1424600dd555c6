"""Fake Telegram Bot API and LINE Messaging API servers, and webhook body builders.

Exports resolve lazily: `python -m tests.fakes.telegram` imports this package first, and an
eager import of the submodule here would make runpy warn that it ran a module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.line import Delivery, FakeLineAPI, LineCall
    from tests.fakes.telegram import FakeTelegramBotAPI, TelegramCall
    from tests.fakes.webhooks import (
        LineEvents,
        TelegramUpdates,
        line_signature,
        redelivered,
        telegram_headers,
    )

_EXPORTS = {
    "FakeTelegramBotAPI": "tests.fakes.telegram",
    "TelegramCall": "tests.fakes.telegram",
    "FakeLineAPI": "tests.fakes.line",
    "LineCall": "tests.fakes.line",
    "Delivery": "tests.fakes.line",
    "TelegramUpdates": "tests.fakes.webhooks",
    "telegram_headers": "tests.fakes.webhooks",
    "LineEvents": "tests.fakes.webhooks",
    "line_signature": "tests.fakes.webhooks",
    "redelivered": "tests.fakes.webhooks",
}
__all__ = [
    "Delivery",
    "FakeLineAPI",
    "FakeTelegramBotAPI",
    "LineCall",
    "LineEvents",
    "TelegramCall",
    "TelegramUpdates",
    "line_signature",
    "redelivered",
    "telegram_headers",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tests.fakes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
