"""Clients of the fake servers for the fakes' own tests: the real SDKs pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
import telegram
from linebot.v3.messaging import ApiClient, Configuration, TextMessage

from tests.fakes.fixtures import LINE_ACCESS_TOKEN, TELEGRAM_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI

T = TypeVar("T")

# PTB 22.2+ warns that RetryAfter.retry_after will become a timedelta; we accept both.
ignore_ptb_timedelta_warning = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


def bot_for(fake: FakeTelegramBotAPI, token: str = TELEGRAM_TOKEN) -> telegram.Bot:
    return telegram.Bot(token, base_url=f"{fake.url}/bot")


def line_api(fake: FakeLineAPI) -> ApiClient:
    return ApiClient(Configuration(host=fake.url, access_token=LINE_ACCESS_TOKEN))


def text(value: str) -> TextMessage:
    return TextMessage(text=value)
