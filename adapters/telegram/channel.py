"""The Telegram channel (python-telegram-bot 22): webhook checks, updates → `Incoming`,
and replies sent through `telegram.Bot` under our own rate limits.

No PTB Application or Updater: the web app's route receives the webhooks. PTB's
AIORateLimiter is not used either (python-telegram-bot#5338: it ends RetryAfter pauses
early); a 429 pauses our limiter for as long as Telegram asks.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import hmac
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import httpx
import telegram
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.ratelimit import ChatRateLimiter, SharedLimit
from adapters.telegram.render import Keyboard, TelegramMessage, render
from adapters.telegram.updates import SERVED_KINDS, decode, incoming_from, parse
from core.chat import BadUpdate, BeforeRequest, InboundItem, Incoming, Reply, SendResult, user_key

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_API_URL = "https://api.telegram.org/bot"
ALLOWED_UPDATES = SERVED_KINDS  # asked for in setWebhook; Telegram sends nothing else


class TelegramChannel:
    """The Channel port for Telegram. The SDK client is created in `start()`, inside the
    app's lifespan, never here: constructing the channel touches no network."""

    name = "telegram"

    def __init__(
        self,
        *,
        token: str,
        webhook_secret: str,
        api_url: str = DEFAULT_API_URL,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: float = 2.0,
        max_attempts: int = 5,
        max_retry_after: float = 120.0,
        network_retries: int = 2,
        network_backoff: float = 0.5,
        shared_limit: SharedLimit | None = None,
    ) -> None:
        self._token = token
        self._secret = webhook_secret.encode("utf-8")
        self._api_url = api_url
        self._rates = (global_rate, per_chat_rate, per_chat_burst)
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.network_retries = network_retries
        self.network_backoff = network_backoff
        self._shared_limit = shared_limit  # the global rate, kept with other processes
        self._bot: telegram.Bot | None = None
        self._limiter: ChatRateLimiter | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._bot is not None:
            return
        bot = telegram.Bot(self._token, base_url=self._api_url)
        try:
            await bot.initialize()  # getMe: checks the token, learns the bot's username
        except InvalidToken:
            await bot.shutdown()
            # PTB's own message repeats the token; keep it out of logs.
            raise RuntimeError("the Bot API rejected TELEGRAM_BOT_TOKEN") from None
        except NetworkError as exc:  # sending may still work once the API is reachable
            log.warning("Telegram getMe failed at start (%s); continuing", exc)
        global_rate, per_chat_rate, per_chat_burst = self._rates
        self._limiter = ChatRateLimiter(
            global_rate,
            per_chat_rate,
            per_chat_burst=per_chat_burst,
            shared=self._shared_limit,
            shared_key="telegram:send",
        )
        self._bot = bot

    async def close(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.shutdown()

    @property
    def username(self) -> str | None:
        """The bot's @username without the "@", known after start (for deep links)."""
        try:
            return self._bot.username if self._bot is not None else None
        except RuntimeError:  # getMe failed at start
            return None

    @property
    def bot(self) -> telegram.Bot:
        if self._bot is None:
            raise RuntimeError("TelegramChannel.start() has not run")
        return self._bot

    # ---- inbound --------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = _header(headers, SECRET_HEADER)
        if given is None or not self._secret:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._secret)

    def split(self, body: bytes) -> list[InboundItem]:
        """One update per webhook body; an update we do not serve gives no item (it is
        answered 200 and forgotten). A button tap is answered (answerCallbackQuery) in the
        webhook's answer itself, as the Bot API allows: the spinner stops at once even when
        the reply waits behind a flash sale's queue, where a callback query answered after
        Telegram's short deadline would fail with "query is too old"."""
        data = decode(body)
        incoming = incoming_from(parse(data))
        if incoming is None:
            return []
        answer = None
        if incoming.kind == "button" and incoming.reply_token:
            answer = {"method": "answerCallbackQuery", "callback_query_id": incoming.reply_token}
        key = user_key("telegram", incoming.user_id)
        return [InboundItem(str(data["update_id"]), data, user_key=key, answer=answer)]

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        try:
            return incoming_from(parse(payload))
        except BadUpdate as exc:
            log.warning("ignoring a stored Telegram update: %s", exc)
            return None

    # ---- outbound -------------------------------------------------------------------------

    async def send(
        self,
        address: str,
        reply: Reply,
        *,
        reply_token: str | None = None,
        retry_key: str | None = None,  # Telegram has no idempotency key for sends
        before_request: BeforeRequest | None = None,
    ) -> SendResult:
        """Send the reply's messages in order. The reply token (the callback query that
        caused it) was already answered with the webhook's answer (see `split`).

        With `before_request` (outbox deliveries) the send is at most once: the hook runs
        right before the first request leaves, and a request that may have reached Telegram
        without our learning its fate (a timeout, a connection lost after sending) is not
        tried again: the result is `in_doubt`. A request that never left is retried."""
        chat_id = _chat_id(address)
        result = SendResult("sent")
        for message in render(reply):
            result = await self._send_message(chat_id, message, before_request)
            if not result.ok:
                return result
            before_request = None  # once, before the first message of the reply
        return result

    async def _send_message(
        self, chat_id: int | str, message: TelegramMessage, before_request: BeforeRequest | None
    ) -> SendResult:
        bot, limiter, chat = self.bot, self._limiter, str(chat_id)
        assert limiter is not None
        markup = _markup(message.keyboard)
        at_most_once = before_request is not None
        network_failures = 0
        last_error: TelegramError | None = None
        for _attempt in range(self.max_attempts):
            await limiter.acquire(chat)
            if before_request is not None:
                await before_request()
                before_request = None
            try:
                await bot.send_message(
                    chat_id, message.html, parse_mode=ParseMode.HTML, reply_markup=markup
                )
                return SendResult("sent", status_code=200)
            except RetryAfter as exc:
                last_error = exc
                wait = retry_after_seconds(exc)
                limiter.pause(wait)
                limiter.pause(wait, chat)
                if wait > self.max_retry_after:
                    return _failed(exc, f"rate limited for {wait:g}s")
                log.info("Telegram asked to wait %gs (chat %s)", wait, chat)
            except Forbidden as exc:
                return SendResult("blocked", exc.message, status_code=_status_code(exc))
            except BadRequest as exc:  # a NetworkError subclass: caught before it
                return _failed(exc, exc.message)
            except (TimedOut, NetworkError) as exc:
                detail = f"{type(exc).__name__}: {exc.message}"
                if at_most_once and _fate_unknown(exc):
                    return SendResult("in_doubt", detail)
                last_error = exc
                network_failures += 1
                if network_failures > self.network_retries:
                    return _failed(exc, detail)
                await asyncio.sleep(self.network_backoff * 2 ** (network_failures - 1))
            except TelegramError as exc:  # ChatMigrated, InvalidToken, Conflict, …
                return _failed(exc, f"{type(exc).__name__}: {exc.message}")
        gave_up = f"gave up after {self.max_attempts} attempts"
        return SendResult("failed", gave_up, status_code=_status_code(last_error))

    # ---- setup (the `loyalty telegram` CLI) -------------------------------------------------

    async def set_webhook(self, url: str, *, drop_pending_updates: bool = False) -> bool:
        return await self.bot.set_webhook(
            url,
            secret_token=self._secret.decode("utf-8"),
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=drop_pending_updates,
        )

    async def set_commands(
        self, commands: list[tuple[str, str]], *, language_code: str | None = None
    ) -> bool:
        return await self.bot.set_my_commands(commands, language_code=language_code)

    async def webhook_info(self) -> dict[str, Any]:
        info = await self.bot.get_webhook_info()
        return info.to_dict()


def _status_code(error: TelegramError | None) -> int | None:
    """The Bot API's HTTP status behind a python-telegram-bot error, where its class pins
    it; None for no answer, and for a 5xx or 401/404, which PTB raises without the code."""
    for kind, code in _STATUS_OF:
        if isinstance(error, kind):
            return code
    return None


# ChatMigrated and RetryAfter come from the answer's `parameters` (a 400 and a 429).
_STATUS_OF: tuple[tuple[type[TelegramError], int], ...] = (
    (RetryAfter, 429),
    (Forbidden, 403),
    (BadRequest, 400),
    (ChatMigrated, 400),
    (Conflict, 409),
)


def _failed(error: TelegramError, detail: str) -> SendResult:
    """A send that failed for good. Never `retryable`: without an idempotency key, a
    later attempt could show the message twice (the senders do not send it again)."""
    return SendResult("failed", detail, status_code=_status_code(error))


def _fate_unknown(error: TelegramError) -> bool:
    """Whether the request may have reached Telegram with no answer back: the connection
    failed after sending (a read timeout, a dropped connection). Not when it never left (no
    connection, none free in the pool), nor when Telegram answered with an error."""
    cause = error.__cause__
    never_left = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    return isinstance(cause, httpx.TransportError) and not isinstance(cause, never_left)


def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta (PTB 22 is moving to timedelta and
    warns when it is read); the seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _markup(keyboard: Keyboard) -> telegram.InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return telegram.InlineKeyboardMarkup(
        [
            [
                telegram.InlineKeyboardButton(button.label, url=button.url)
                if button.url
                else telegram.InlineKeyboardButton(button.label, callback_data=button.payload)
                for button in row
            ]
            for row in keyboard
        ]
    )


def _chat_id(address: str) -> int | str:
    """Telegram chat ids are integers (negative for groups); "@name" addresses channels."""
    return int(address) if address.lstrip("-").isdigit() else address


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
