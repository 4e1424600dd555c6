"""Sending through python-telegram-bot to the fake Bot API: rate limits, 429s waited out,
blocked users, bad requests and server errors, answered callback queries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import tests.fakes.fixtures as fake_fixtures
from adapters.telegram import TelegramChannel
from core.chat import Button, Reply, SendResult
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI

fake_telegram = fake_fixtures.fake_telegram
T = TypeVar("T")
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def with_channel(
    fake: FakeTelegramBotAPI, work: Callable[[TelegramChannel], Awaitable[T]], **options: Any
) -> T:
    async def scenario() -> T:
        channel = TelegramChannel(
            token=TELEGRAM_TOKEN,
            webhook_secret=TELEGRAM_WEBHOOK_SECRET,
            api_url=f"{fake.url}/bot",
            **options,
        )
        await channel.start()
        try:
            return await work(channel)
        finally:
            await channel.close()

    return asyncio.run(asyncio.wait_for(scenario(), timeout=30))


def send(channel: TelegramChannel, chat: int, *texts: str, **kwargs: Any) -> Any:
    return channel.send(str(chat), Reply.text(*texts), **kwargs)


def test_start_learns_the_bot_username_and_close_releases_the_client(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    async def work(channel: TelegramChannel) -> str | None:
        return channel.username

    assert with_channel(fake_telegram, work) == "loyalty_test_bot"
    assert [call.method for call in fake_telegram.calls()] == ["getMe"]


def test_a_rejected_token_fails_start_without_repeating_the_token(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    channel = TelegramChannel(
        token="999:not-the-token", webhook_secret="s", api_url=f"{fake_telegram.url}/bot"
    )
    with pytest.raises(RuntimeError) as error:
        asyncio.run(channel.start())
    assert "not-the-token" not in str(error.value)


def test_constructing_the_channel_touches_no_network(fake_telegram: FakeTelegramBotAPI) -> None:
    TelegramChannel(token=TELEGRAM_TOKEN, webhook_secret="s", api_url=f"{fake_telegram.url}/bot")
    assert fake_telegram.calls() == []


def test_a_429_is_waited_out_then_every_chat_is_sent_to(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """How long the pause lasts, and that it holds every chat, is checked on a fake clock
    in tests/adapters/test_ratelimit.py; here, that a 429 is retried and nothing is lost."""
    fake_telegram.fail_next("sendMessage", 429, retry_after=1, chat_id=1)

    def refused() -> bool:
        return any(call.status == 429 for call in fake_telegram.calls("sendMessage"))

    async def work(channel: TelegramChannel) -> tuple[SendResult, SendResult]:
        first = asyncio.create_task(send(channel, 1, "to one"))
        await asyncio.to_thread(fake_telegram.wait_for, refused, 10)
        second = await send(channel, 2, "to two")
        return await first, second

    results = with_channel(fake_telegram, work)

    assert [result.status for result in results] == ["sent", "sent"]
    statuses = [call.status for call in fake_telegram.calls("sendMessage")]
    assert statuses == [429, 200, 200]
    assert fake_telegram.texts_to(1) == ["to one"] and fake_telegram.texts_to(2) == ["to two"]


def test_a_retry_after_longer_than_we_wait_fails_the_send_at_once(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    # An hour: had the send waited it out, with_channel's deadline would have failed it.
    fake_telegram.fail_next("sendMessage", 429, retry_after=3600)
    result = with_channel(fake_telegram, lambda ch: send(ch, 1, "hi"), max_retry_after=5)
    assert result == SendResult("failed", "rate limited for 3600s", status_code=429)
    assert [call.status for call in fake_telegram.calls("sendMessage")] == [429]


def test_a_blocked_user_gives_blocked_without_retrying(fake_telegram: FakeTelegramBotAPI) -> None:
    fake_telegram.block(5)
    result = with_channel(fake_telegram, lambda ch: send(ch, 5, "one", "two"))
    assert result.status == "blocked" and "blocked by the user" in result.detail
    assert len(fake_telegram.calls("sendMessage")) == 1


def test_a_bad_request_fails_without_retrying(fake_telegram: FakeTelegramBotAPI) -> None:
    fake_telegram.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    result = with_channel(fake_telegram, lambda ch: send(ch, 5, "hi"))
    assert result == SendResult("failed", "Chat not found", status_code=400)
    assert len(fake_telegram.calls("sendMessage")) == 1


def test_server_errors_are_retried_with_backoff_then_given_up(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    fake_telegram.fail_next("sendMessage", 502, count=2)
    result = with_channel(fake_telegram, lambda ch: send(ch, 5, "hi"), network_backoff=0.1)
    assert result.ok
    assert [call.status for call in fake_telegram.calls("sendMessage")] == [502, 502, 200]

    fake_telegram.reset()
    fake_telegram.fail_next("sendMessage", 503, count=10)
    result = with_channel(fake_telegram, lambda ch: send(ch, 5, "hi"), network_backoff=0.1)
    assert result.status == "failed" and "NetworkError" in result.detail
    assert len(fake_telegram.calls("sendMessage")) == 3  # the first try and two retries


def test_a_reply_to_a_tap_is_sent_without_a_callback_answer_of_its_own(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """The webhook's answer already answered the callback query (see the webhook tests):
    answering again from the inbox would cost a call and fail as "query is too old"."""
    reply = Reply.text("Claimed!", buttons=[Button("See all", "cmd:coupons")])

    async def work(channel: TelegramChannel) -> SendResult:
        return await channel.send("7", reply, reply_token="query-1")

    assert with_channel(fake_telegram, work).status == "sent"
    assert [call.method for call in fake_telegram.calls()] == ["getMe", "sendMessage"]
    keyboard = fake_telegram.messages_to(7)[0]["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "See all", "callback_data": "cmd:coupons"}]]


def test_a_burst_to_one_chat_is_held_to_its_limit_and_arrives_whole(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """The spacing itself (two at once, then 5 a second) is checked on a fake clock in
    tests/adapters/test_ratelimit.py: arrival times here would measure the machine's load."""

    async def work(channel: TelegramChannel) -> list[SendResult]:
        return list(await asyncio.gather(*(send(channel, 9, f"m{i}") for i in range(6))))

    results = with_channel(fake_telegram, work, per_chat_rate=5, per_chat_burst=2)

    assert all(result.ok for result in results)
    assert [call.status for call in fake_telegram.calls("sendMessage")] == [200] * 6
    assert sorted(fake_telegram.texts_to(9)) == [f"m{i}" for i in range(6)]


def test_a_send_to_many_chats_under_the_global_rate_reaches_each_once(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """The global rate itself (a burst of 20, then 20 a second) is checked on a fake clock
    in tests/adapters/test_ratelimit.py."""

    async def work(channel: TelegramChannel) -> list[SendResult]:
        return list(await asyncio.gather(*(send(channel, 100 + i, "promo") for i in range(40))))

    results = with_channel(fake_telegram, work, global_rate=20, per_chat_rate=100)

    assert all(result.ok for result in results)
    assert [fake_telegram.texts_to(100 + i) for i in range(40)] == [["promo"]] * 40


def test_when_the_platform_limits_harder_than_we_do_every_message_still_arrives_once() -> None:
    with FakeTelegramBotAPI(token=TELEGRAM_TOKEN, rate_limit_per_second=10) as limited:

        async def work(channel: TelegramChannel) -> list[SendResult]:
            return list(await asyncio.gather(*(send(channel, 200 + i, "hi") for i in range(15))))

        results = with_channel(limited, work, global_rate=30)
        assert all(result.ok for result in results)
        assert any(call.status == 429 for call in limited.calls("sendMessage"))
        for index in range(15):
            assert limited.texts_to(200 + index) == ["hi"]
