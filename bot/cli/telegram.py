"""`loyalty telegram …`: point the bot's webhook here and set its command menu.

Talks to TELEGRAM_API_URL (Telegram's own by default, a self-hosted Bot API server or a
fake one in tests) with TELEGRAM_BOT_TOKEN, through the same channel the app uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.markup import escape
from telegram.error import TelegramError

from adapters.telegram import ALLOWED_UPDATES, TelegramChannel
from bot.app import Settings, telegram_channel
from bot.cli import setup
from bot.i18n import LOCALES, Translator

WEBHOOK_PATH = "/webhooks/telegram"
# The command menu in the order members meet the commands; others follow as registered.
MENU_ORDER = (
    "start", "points", "tier", "coupons", "checkin", "survey", "invite",
    "lang", "stop", "mydata", "deleteme", "help",
)  # fmt: skip
# Telegram picks a menu by the user's two-letter language code; no code is the default.
MENU_LANGUAGES = {"en": "en", "zh": "zh-TW"}

telegram_app = typer.Typer(
    help="Connect the Telegram bot: webhook and command menu.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)  # long URLs stay whole
T = TypeVar("T")


@telegram_app.command("set-webhook")
def set_webhook(
    url: Annotated[
        str,
        typer.Argument(
            help="The public HTTPS address of this app (its /webhooks/telegram is used), "
            "or the full webhook URL."
        ),
    ],
    drop_pending_updates: Annotated[
        bool, typer.Option(help="Discard updates Telegram queued while no webhook was set.")
    ] = False,
) -> None:
    """Set the webhook (with the secret token and the updates we handle) and the command
    menu in every language."""
    settings = _settings()
    target = webhook_url(url)
    menus = {None: command_menu(settings.locale)} | {
        code: command_menu(locale) for code, locale in MENU_LANGUAGES.items()
    }

    async def work(channel: TelegramChannel) -> None:
        await channel.set_webhook(target, drop_pending_updates=drop_pending_updates)
        for language, commands in menus.items():
            await channel.set_commands(commands, language_code=language)

    _run(settings, work)
    out.print(f"webhook set: {escape(target)}")
    out.print(f"updates: {', '.join(ALLOWED_UPDATES)}; secret token: from TELEGRAM_WEBHOOK_SECRET")
    out.print(f"command menu: {len(menus[None])} commands, languages: default, en, zh")


@telegram_app.command("webhook-info")
def webhook_info() -> None:
    """Show what Telegram knows of the webhook: URL, pending updates, the last error."""
    settings = _settings()
    info = _run(settings, lambda channel: channel.webhook_info())
    out.print(f"url: {escape(str(info.get('url') or '(none)'))}")
    for name, value in sorted(info.items()):
        if name != "url":
            out.print(f"{name}: {escape(_shown(value))}")


def webhook_url(url: str) -> str:
    """A bare site address gets the webhook path; a full webhook URL is kept as given."""
    parts = urlsplit(url.strip())
    if parts.path in ("", "/"):
        parts = parts._replace(path=WEBHOOK_PATH)
    return urlunsplit(parts)


def command_menu(locale: str) -> list[tuple[str, str]]:
    """The member commands the dialogs register, with their menu descriptions."""
    from bot.dialogs import TABLE

    locale = locale if locale in LOCALES else "zh-TW"
    t = Translator(locale)
    names = TABLE.member_commands()
    names.sort(key=lambda name: MENU_ORDER.index(name) if name in MENU_ORDER else len(MENU_ORDER))
    key = "command_menu.{}".format
    return [(name, t(key(name)) if t.has(key(name)) else f"/{name}") for name in names]


def _settings() -> Settings:
    settings = setup.settings()
    if not settings.telegram_enabled or settings.telegram_webhook_secret is None:
        raise setup.configuration_error("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET")
    return settings


def _run(settings: Settings, work: Callable[[TelegramChannel], Awaitable[T]]) -> T:
    channel = telegram_channel(settings)

    async def session() -> T:
        await channel.start()
        try:
            return await work(channel)
        finally:
            await channel.close()

    try:
        return asyncio.run(session())
    except (TelegramError, RuntimeError) as exc:
        raise setup.refused(str(exc), label="Telegram refused") from None


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)
