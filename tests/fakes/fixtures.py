"""Pytest fixtures that run the fake platform servers on ephemeral 127.0.0.1 ports.

Use them from a conftest (or a test module) by importing them:

    from tests.fakes.fixtures import fake_line, fake_telegram, line_events  # noqa: F401

Each fixture starts its own server for the test and stops it afterwards. The servers
accept only the tokens below, so a test also proves that the right token was sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.line import DEFAULT_ACCESS_TOKEN, DEFAULT_CHANNEL_SECRET, FakeLineAPI
from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegramBotAPI
from tests.fakes.webhooks import LineEvents, TelegramUpdates

TELEGRAM_TOKEN = DEFAULT_TOKEN
TELEGRAM_WEBHOOK_SECRET = "fake-telegram-webhook-secret"
LINE_ACCESS_TOKEN = DEFAULT_ACCESS_TOKEN
LINE_CHANNEL_SECRET = DEFAULT_CHANNEL_SECRET


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramBotAPI]:
    """A fake Bot API; `telegram.Bot(TELEGRAM_TOKEN, base_url=f"{fake_telegram.url}/bot")`."""
    with FakeTelegramBotAPI(token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_line() -> Iterator[FakeLineAPI]:
    """A fake LINE API; `Configuration(host=fake_line.url, access_token=LINE_ACCESS_TOKEN)`."""
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN) as fake:
        yield fake


@pytest.fixture
def telegram_updates() -> TelegramUpdates:
    """Builds Telegram Update JSON with increasing update_id."""
    return TelegramUpdates(bot_id=int(TELEGRAM_TOKEN.split(":")[0]))


@pytest.fixture
def line_events(fake_line: FakeLineAPI) -> LineEvents:
    """Builds LINE webhook events whose reply tokens `fake_line` accepts (once each)."""
    return LineEvents(reply_tokens=fake_line)
