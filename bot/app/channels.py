"""Building the chat channels that the settings switch on."""

from __future__ import annotations

from bot.app.settings import Settings
from bot.app.shared_limits import SharedRateLimiter
from core.chat import Channel
from core.kernel import Database

TELEGRAM_GLOBAL_RATE = 30.0  # messages a second a bot may send in all (Telegram's FAQ)
TELEGRAM_PER_CHAT_RATE = 1.0  # and to one chat


def build_channels(
    settings: Settings,
    *,
    telegram_rate: float = TELEGRAM_GLOBAL_RATE,
    telegram_per_chat_rate: float = TELEGRAM_PER_CHAT_RATE,
    database: Database | None = None,
) -> dict[str, Channel]:
    """Telegram when TELEGRAM_BOT_TOKEN is set; LINE when its secret and token are set.
    SDK clients are created later, in `start()`, inside the app's lifespan. Telegram's send
    limits default to what it allows (about 30 messages a second, 1 a second per chat).
    Given a PostgreSQL `database`, Telegram's global rate is kept there, for every process
    sending with the same bot (`serve --workers`, delivery workers, several machines)."""
    channels: dict[str, Channel] = {}
    shared = None
    if database is not None and database.dialect == "postgresql":
        shared = SharedRateLimiter(database, telegram_rate, burst=max(1, round(telegram_rate)))
    if settings.telegram_enabled:
        from adapters.telegram import TelegramChannel

        assert settings.telegram_bot_token and settings.telegram_webhook_secret
        channels["telegram"] = TelegramChannel(
            token=settings.telegram_bot_token.get_secret_value(),
            webhook_secret=settings.telegram_webhook_secret.get_secret_value(),
            api_url=settings.telegram_api_url,
            global_rate=telegram_rate,
            per_chat_rate=telegram_per_chat_rate,
            shared_limit=shared,
        )
    if settings.line_enabled:
        from adapters.line import LineChannel

        assert settings.line_channel_secret and settings.line_channel_access_token
        channels["line"] = LineChannel(
            channel_secret=settings.line_channel_secret.get_secret_value(),
            access_token=settings.line_channel_access_token.get_secret_value(),
            api_url=settings.line_api_url,
        )
    return channels
