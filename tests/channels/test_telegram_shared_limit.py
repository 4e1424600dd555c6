"""Telegram's global send limit kept in PostgreSQL for every process sending with the bot:
two channels (as two processes, each with its own connection pool and its own local limit)
together stay under what the fake Bot API allows, where each alone at its local limit would
not. Real PTB, real HTTP, a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.telegram import TelegramChannel
from bot.app import SharedRateLimiter
from core.chat import Reply
from core.kernel import Database
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.databases import truncate_all

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
LOCAL_RATE = 10.0  # each process's own limit: 20 a second together
PLATFORM_LIMIT = 15  # what the fake accepts in any one second before answering 429
MESSAGES = 30


@pytest.fixture
def two_pools(postgres_schema_url: str) -> Iterator[tuple[Database, Database]]:
    truncate_all(postgres_schema_url)
    first, second = Database(postgres_schema_url), Database(postgres_schema_url)
    yield first, second
    first.dispose()
    second.dispose()


def send_from_two_processes(
    fake: FakeTelegramBotAPI, shared: list[SharedRateLimiter | None]
) -> list[str]:
    async def scenario() -> list[str]:
        channels = [
            TelegramChannel(
                token=TELEGRAM_TOKEN,
                webhook_secret=TELEGRAM_WEBHOOK_SECRET,
                api_url=f"{fake.url}/bot",
                global_rate=LOCAL_RATE,
                per_chat_rate=100,
                shared_limit=limit,
            )
            for limit in shared
        ]
        for channel in channels:
            await channel.start()
        try:
            results = await asyncio.gather(
                *(
                    channels[n % 2].send(str(300 + n), Reply.text("flash sale"))
                    for n in range(MESSAGES)
                )
            )
        finally:
            for channel in channels:
                await channel.close()
        return [result.status for result in results]

    return asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_two_processes_keep_one_global_limit_together(
    two_pools: tuple[Database, Database],
) -> None:
    with FakeTelegramBotAPI(token=TELEGRAM_TOKEN, rate_limit_per_second=PLATFORM_LIMIT) as fake:
        shared = [SharedRateLimiter(database, LOCAL_RATE, burst=1) for database in two_pools]
        statuses = send_from_two_processes(fake, list(shared))
        answers = [call.status for call in fake.calls("sendMessage")]
    assert statuses == ["sent"] * MESSAGES
    assert answers == [200] * MESSAGES  # no 429: together they kept to 10 a second


def test_without_the_shared_limit_two_processes_run_into_the_platforms() -> None:
    with FakeTelegramBotAPI(token=TELEGRAM_TOKEN, rate_limit_per_second=PLATFORM_LIMIT) as fake:
        statuses = send_from_two_processes(fake, [None, None])
        answers = [call.status for call in fake.calls("sendMessage")]
    assert statuses == ["sent"] * MESSAGES  # 429s are waited out, nothing is lost
    assert 429 in answers  # but each process alone kept only its own 10 a second
