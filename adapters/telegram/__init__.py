"""Telegram through python-telegram-bot: updates in, rendered replies and sends out."""

from adapters.telegram.channel import ALLOWED_UPDATES, TelegramChannel

__all__ = [
    "ALLOWED_UPDATES",
    "TelegramChannel",
]
