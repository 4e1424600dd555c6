"""The app served over real HTTP with the Telegram channel pointed at the fake Bot API.

Tests post update JSON (as Telegram sends it) to /webhooks/telegram and read the replies
the fake recorded. Every wait is bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

from adapters.telegram import TelegramChannel
from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.web import create_app
from core.chat import Channel
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.programme import Programme
from tests.fakes._telegram_html import html_to_text
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.webhooks import TelegramUpdates, telegram_headers, telegram_performs
from tests.support.server import serving

T = TypeVar("T")
WEBHOOK = "/webhooks/telegram"
COUNTED_TABLES = ("inbound_update", "member", "channel_identity", "event")


def telegram_settings(database_url: str, fake: FakeTelegramBotAPI) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=TELEGRAM_WEBHOOK_SECRET,
        telegram_api_url=f"{fake.url}/bot",
    )


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(0.02)


@dataclass
class TelegramApp:
    """The served app, an HTTP client for it, the fake Bot API and the services."""

    url: str
    client: httpx.Client
    fake: FakeTelegramBotAPI
    services: Services

    def post(self, update: Any, *, secret: str | None = TELEGRAM_WEBHOOK_SECRET) -> httpx.Response:
        """Post an update (JSON-able, or raw bytes) the way Telegram does."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        response = self.client.post(WEBHOOK, content=body, headers=telegram_headers(secret))
        if response.status_code == 200:
            telegram_performs(response.content, f"{self.fake.url}/bot{TELEGRAM_TOKEN}")
        return response

    def deliver(self, update: Any) -> httpx.Response:
        response = self.post(update)
        assert response.status_code == 200, response.text
        return response

    def texts(self, chat: int) -> list[str]:
        """What the member sees: the visible text of each message sent to `chat`."""
        return [html_to_text(text) for text in self.fake.texts_to(chat)]

    def wait_texts(self, chat: int, count: int, timeout: float = 10.0) -> list[str]:
        """The first `count` visible texts sent to `chat`, once that many arrived."""
        self.fake.wait_for(lambda: len(self.fake.texts_to(chat)) >= count, timeout=timeout)
        return self.texts(chat)[:count]

    def last_message(self, chat: int) -> dict[str, Any]:
        return self.fake.messages_to(chat)[-1]

    def callback_data(self, chat: int, label: str) -> str:
        """The callback data of the first button whose label contains `label`, in the
        last message to `chat` that has a keyboard."""
        for message in reversed(self.fake.messages_to(chat)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in (button for row in rows for button in row):
                if label.lower() in button["text"].lower() and "callback_data" in button:
                    return str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in the messages to {chat}")

    def settled(self, timeout: float = 10.0) -> None:
        """Wait until the inbox has handled everything stored."""
        wait_until(lambda: self.count_pending() == 0, timeout, "inbox drained")

    def count_pending(self) -> int:
        return self.scalar(
            "select count(*) from inbound_update where status in ('received', 'processing')"
        )

    def count(self, table: str) -> int:
        return self.scalar(f"select count(*) from {table}")

    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in COUNTED_TABLES}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.services.database.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar_one()


def _serve(
    db: Database,
    clock: FixedClock,
    programme: Programme,
    fake: FakeTelegramBotAPI,
    channels: dict[str, Channel] | None = None,
) -> Iterator[TelegramApp]:
    services = Services(
        settings=telegram_settings(db.url, fake), database=db, programme=programme, clock=clock
    )
    sync_programme(services)
    app = create_app(services, channels)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield TelegramApp(url=url, client=client, fake=fake, services=services)


@pytest.fixture
def telegram_app(
    db: Database, clock: FixedClock, programme: Programme, fake_telegram: FakeTelegramBotAPI
) -> Iterator[TelegramApp]:
    """`loyalty serve`'s app on the test database, Telegram on (built from the settings,
    with Telegram's real rate limits), the fake as its Bot API."""
    yield from _serve(db, clock, programme, fake_telegram)


@pytest.fixture
def quick_telegram_app(
    db: Database, clock: FixedClock, programme: Programme, fake_telegram: FakeTelegramBotAPI
) -> Iterator[TelegramApp]:
    """The same, with a per-chat limit of 50/s, for long conversations with one member."""
    channel = TelegramChannel(
        token=TELEGRAM_TOKEN,
        webhook_secret=TELEGRAM_WEBHOOK_SECRET,
        api_url=f"{fake_telegram.url}/bot",
        per_chat_rate=50,
        per_chat_burst=5,
    )
    yield from _serve(db, clock, programme, fake_telegram, {"telegram": channel})


class TelegramChat:
    """One member talking to the bot over webhooks: `say` and `tap` post the update, wait
    until the app has handled it, and return what the bot sent back (visible text)."""

    def __init__(self, app: TelegramApp, updates: TelegramUpdates, user: dict[str, Any]):
        self.app, self.updates, self.user = app, updates, user
        self.chat = int(user["id"])
        self.taps = 0

    def say(self, text: str) -> str:
        return self._exchange(self.updates.message(self.user, text))

    def tap(self, label: str) -> str:
        self.taps += 1
        data = self.app.callback_data(self.chat, label)
        return self._exchange(self.updates.callback_query(self.user, data))

    def _exchange(self, update: dict[str, Any]) -> str:
        before = len(self.app.fake.texts_to(self.chat))
        self.app.deliver(update)
        self.app.settled()
        return "\n\n".join(self.app.texts(self.chat)[before:])
