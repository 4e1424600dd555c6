"""The one factory of chat channels: the only code that builds a TelegramChannel or a
LineChannel (their rate limits, the shared limit, their SDK settings), one function per
need, and the only code outside the adapters that knows which name is which channel.

The adapters are imported when a channel is built, not with this module: a command that
builds none (`loyalty stats`, `loyalty migrate`) does not load either SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.app.settings import Settings, SettingsError
from bot.app.shared_limits import SharedRateLimiter
from core.chat import Channel
from core.kernel import Database

if TYPE_CHECKING:
    from adapters.line import LineChannel
    from adapters.telegram import TelegramChannel

TELEGRAM, LINE = "telegram", "line"
CHANNEL_NAMES = (TELEGRAM, LINE)  # the chat channels the factory builds, in this order

TELEGRAM_GLOBAL_RATE = 30.0  # messages a second a bot may send in all (Telegram's FAQ)
TELEGRAM_PER_CHAT_RATE = 1.0  # and to one chat


def enabled_channels(settings: Settings) -> tuple[str, ...]:
    """The names of the channels the settings switch on: Telegram when TELEGRAM_BOT_TOKEN
    is set, LINE when its secret and token are set."""
    on = {TELEGRAM: settings.telegram_enabled, LINE: settings.line_enabled}
    return tuple(name for name in CHANNEL_NAMES if on[name])


def build_channels(
    settings: Settings,
    *,
    telegram_rate: float = TELEGRAM_GLOBAL_RATE,
    telegram_per_chat_rate: float = TELEGRAM_PER_CHAT_RATE,
    database: Database | None = None,
) -> dict[str, Channel]:
    """Every channel the settings switch on, by name: the web app's and a delivery
    worker's. SDK clients are created later, in `start()`, inside the app's lifespan.
    Telegram's send limits default to what it allows (about 30 messages a second, 1 a
    second per chat). Given a PostgreSQL `database`, Telegram's global rate is kept there,
    for every process sending with the same bot (`serve --workers`, delivery workers,
    several machines)."""
    channels: dict[str, Channel] = {}
    if settings.telegram_enabled:
        shared = None
        if database is not None and database.dialect == "postgresql":
            shared = SharedRateLimiter(database, telegram_rate, burst=max(1, round(telegram_rate)))
        channels[TELEGRAM] = telegram_channel(
            settings,
            global_rate=telegram_rate,
            per_chat_rate=telegram_per_chat_rate,
            shared_limit=shared,
        )
    if settings.line_enabled:
        channels[LINE] = line_channel(settings)
    return channels


def telegram_channel(
    settings: Settings,
    *,
    global_rate: float = TELEGRAM_GLOBAL_RATE,
    per_chat_rate: float = TELEGRAM_PER_CHAT_RATE,
    shared_limit: SharedRateLimiter | None = None,
) -> TelegramChannel:
    """The Telegram channel alone: the app's (through `build_channels`), or the one a
    command talks to (`loyalty telegram set-webhook`). Raises SettingsError unless
    TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET are set."""
    from adapters.telegram import TelegramChannel

    token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
    if token is None or secret is None:
        raise SettingsError("Telegram is off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET")
    return TelegramChannel(
        token=token.get_secret_value(),
        webhook_secret=secret.get_secret_value(),
        api_url=settings.telegram_api_url,
        global_rate=global_rate,
        per_chat_rate=per_chat_rate,
        shared_limit=shared_limit,
    )


def line_channel(settings: Settings) -> LineChannel:
    """The LINE channel alone: the app's (through `build_channels`), or the one a command
    talks to (`loyalty line richmenu`, `loyalty line quota`), patient with LINE's 429s and
    5xx. Raises SettingsError when LINE is off."""
    from adapters.line import LineChannel

    secret, token = _line_credentials(settings)
    return LineChannel(channel_secret=secret, access_token=token, api_url=settings.line_api_url)


def quota_channels(settings: Settings, *, timeout: float) -> dict[str, LineChannel]:
    """The channels on whose pushes a monthly message quota is counted (LINE, when on), by
    name, each built for one quick read of it that someone waits for (a broadcast
    preview): every call tried once, for at most `timeout` seconds. Short-lived: the caller
    starts and closes them on its own event loop."""
    from adapters.line import LineChannel

    if not settings.line_enabled:
        return {}
    secret, token = _line_credentials(settings)
    quick = LineChannel(
        channel_secret=secret,
        access_token=token,
        api_url=settings.line_api_url,
        request_timeout=timeout,
        attempts=1,
    )
    return {LINE: quick}


def remember_bot_username(settings: Settings, channels: Mapping[str, Channel]) -> None:
    """After the channels started: /invite's deep link (t.me/<bot>?start=…) needs the
    Telegram bot's @username, which getMe told its channel, unless the settings name it."""
    username = getattr(channels.get(TELEGRAM), "username", None)
    if username and not settings.telegram_bot_username:
        settings.telegram_bot_username = username


def _line_credentials(settings: Settings) -> tuple[str, str]:
    secret, token = settings.line_channel_secret, settings.line_channel_access_token
    if secret is None or token is None:
        raise SettingsError("LINE is off: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN")
    return secret.get_secret_value(), token.get_secret_value()
