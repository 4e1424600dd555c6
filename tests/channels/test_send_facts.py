"""The facts a send result carries, from each adapter over real HTTP to the fake platforms:
the platform's status code, whether the same send may be made again later, whether the
month's quota is used up, whether the member is unreachable. The senders decide on these
facts, never on an adapter's error text, so each is pinned here per platform answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import pytest

import tests.fakes.fixtures as fake_fixtures
from adapters.line import LineChannel
from adapters.telegram import TelegramChannel
from core.chat import Reply, SendResult
from tests.fakes.fixtures import (
    LINE_ACCESS_TOKEN,
    LINE_CHANNEL_SECRET,
    TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
)
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.unanswering import UnansweringServer

fake_line = fake_fixtures.fake_line
fake_telegram = fake_fixtures.fake_telegram
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T = TypeVar("T")

MEI, KAI = "U" + "a1" * 16, "U" + "b2" * 16


class Facts(NamedTuple):
    status: str
    status_code: int | None
    retryable: bool = False
    quota_exhausted: bool = False
    member_unreachable: bool = False


def facts(result: SendResult) -> Facts:
    return Facts(
        result.status,
        result.status_code,
        result.retryable,
        result.quota_exhausted,
        result.member_unreachable,
    )


def run(channel: Any, work: Callable[[Any], Awaitable[T]]) -> T:
    async def scenario() -> T:
        await channel.start()
        try:
            return await work(channel)
        finally:
            await channel.close()

    return asyncio.run(asyncio.wait_for(scenario(), timeout=30))


def closed_port_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        return f"http://127.0.0.1:{placeholder.getsockname()[1]}"


# ---- LINE -----------------------------------------------------------------------------------


def line_channel(url: str, **options: Any) -> LineChannel:
    options.setdefault("backoff", 0.01)
    return LineChannel(
        channel_secret=LINE_CHANNEL_SECRET, access_token=LINE_ACCESS_TOKEN, api_url=url, **options
    )


def line_push(url: str, to: str = MEI, *, retry_key: str = "delivery-1", **options: Any) -> Facts:
    reply = Reply.text("Spring sale")
    return facts(
        run(line_channel(url, **options), lambda c: c.send(to, reply, retry_key=retry_key))
    )


def line_multicast(url: str, *, retry_key: str = "batch-1", **options: Any) -> dict[str, Facts]:
    reply = Reply.text("Spring sale")
    results = run(
        line_channel(url, **options), lambda c: c.multicast([MEI, KAI], reply, retry_key=retry_key)
    )
    return {user: facts(result) for user, result in results.items()}


def test_line_an_accepted_push_is_sent_with_200(fake_line: FakeLineAPI) -> None:
    assert line_push(fake_line.url) == Facts("sent", 200)


def test_line_a_push_repeated_under_an_accepted_retry_key_is_sent_with_409_and_arrives_once(
    fake_line: FakeLineAPI,
) -> None:
    assert line_push(fake_line.url, retry_key="delivery-7") == Facts("sent", 200)
    assert line_push(fake_line.url, retry_key="delivery-7") == Facts("sent", 409)
    assert len(fake_line.deliveries()) == 1


def test_line_a_rate_limit_that_outlasts_the_attempts_may_be_sent_again(
    fake_line: FakeLineAPI,
) -> None:
    fake_line.fail_next("/message/push", 429, count=10)
    assert line_push(fake_line.url, attempts=2) == Facts("failed", 429, retryable=True)
    assert fake_line.deliveries() == []


def test_line_the_month_s_quota_used_up_is_not_retryable() -> None:
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, monthly_quota=1, enforce_quota=True) as fake:
        assert line_push(fake.url, MEI, retry_key="a") == Facts("sent", 200)
        assert line_push(fake.url, KAI, retry_key="b") == Facts("failed", 429, quota_exhausted=True)


@pytest.mark.parametrize("status", [400, 403])
def test_line_a_push_refused_for_a_blocked_user_says_the_member_is_unreachable(
    status: int,
) -> None:
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, blocked_push_status=status) as fake:
        fake.block(MEI)
        assert line_push(fake.url) == Facts("blocked", status, member_unreachable=True)


@pytest.mark.parametrize("status", [500, 503])
def test_line_server_errors_past_the_attempts_may_be_sent_again_under_the_retry_key(
    fake_line: FakeLineAPI, status: int
) -> None:
    fake_line.fail_next("/message/push", status, after_delivery=True)
    fake_line.fail_next("/message/push", status)
    assert line_push(fake_line.url, attempts=2) == Facts("failed", status, retryable=True)
    assert len(fake_line.deliveries()) == 1  # it did arrive: the retry key keeps it once


def test_line_a_timeout_has_no_status_and_may_be_sent_again_under_the_retry_key() -> None:
    with UnansweringServer(hang_up=False) as silent:
        result = line_push(silent.url, attempts=1, request_timeout=0.3)
        assert result == Facts("failed", None, retryable=True)
        assert silent.requests_to("/v2/bot/message/push") == 1


def test_line_no_connection_has_no_status_and_may_be_sent_again() -> None:
    assert line_push(closed_port_url(), attempts=1) == Facts("failed", None, retryable=True)


def test_line_a_bad_request_and_a_bad_token_are_final(fake_line: FakeLineAPI) -> None:
    fake_line.fail_next("/message/push", 400, message="The request body has 1 error(s)")
    assert line_push(fake_line.url) == Facts("failed", 400)
    fake_line.fail_next("/message/push", 401, message="Authentication failed")
    assert line_push(fake_line.url, retry_key="delivery-2") == Facts("failed", 401)


def test_line_a_multicast_carries_the_facts_for_every_recipient(fake_line: FakeLineAPI) -> None:
    fake_line.fail_next("/multicast", 500, count=2)
    failed = Facts("failed", 500, retryable=True)
    assert line_multicast(fake_line.url, attempts=2) == {MEI: failed, KAI: failed}

    assert line_multicast(fake_line.url) == dict.fromkeys((MEI, KAI), Facts("sent", 200))
    assert line_multicast(fake_line.url) == dict.fromkeys((MEI, KAI), Facts("sent", 409))
    assert sorted(delivery.to for delivery in fake_line.deliveries()) == [MEI, KAI]


def test_line_a_reply_that_fails_with_a_5xx_is_pushed_and_the_push_s_answer_counts(
    fake_line: FakeLineAPI,
) -> None:
    token = fake_line.issue_reply_token(MEI)
    fake_line.fail_next("/message/reply", 500)
    reply = Reply.text("hello")
    result = run(
        line_channel(fake_line.url), lambda c: c.send(MEI, reply, reply_token=token, retry_key="k")
    )
    assert facts(result) == Facts("sent", 200)
    assert [d.kind for d in fake_line.deliveries()] == ["push"]


# ---- Telegram -------------------------------------------------------------------------------


def telegram_send(url: str, chat: int = 5, *, at_most_once: bool = False, **options: Any) -> Facts:
    options.setdefault("network_backoff", 0.01)
    channel = TelegramChannel(
        token=TELEGRAM_TOKEN,
        webhook_secret=TELEGRAM_WEBHOOK_SECRET,
        api_url=f"{url}/bot",
        **options,
    )

    async def going() -> None:
        pass

    hook = going if at_most_once else None
    return facts(run(channel, lambda c: c.send(str(chat), Reply.text("hi"), before_request=hook)))


def test_telegram_an_accepted_send_is_sent_with_200(fake_telegram: FakeTelegramBotAPI) -> None:
    assert telegram_send(fake_telegram.url) == Facts("sent", 200)


def test_telegram_a_retry_after_longer_than_we_wait_is_a_final_429(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """Telegram has no retry key: a later try could show the message twice, so even a
    refusal is not `retryable` (the senders would not know the request never arrived)."""
    fake_telegram.fail_next("sendMessage", 429, retry_after=3600)
    assert telegram_send(fake_telegram.url, max_retry_after=5) == Facts("failed", 429)


def test_telegram_a_blocked_user_is_a_403_saying_the_member_is_unreachable(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    fake_telegram.block(5)
    assert telegram_send(fake_telegram.url) == Facts("blocked", 403, member_unreachable=True)


def test_telegram_a_bad_request_is_a_final_400(fake_telegram: FakeTelegramBotAPI) -> None:
    fake_telegram.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    assert telegram_send(fake_telegram.url) == Facts("failed", 400)


def test_telegram_server_errors_past_the_retries_are_final_without_a_code(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    """python-telegram-bot raises a 5xx as a NetworkError that does not keep the code."""
    fake_telegram.fail_next("sendMessage", 503, count=10)
    assert telegram_send(fake_telegram.url, at_most_once=True) == Facts("failed", None)
    assert len(fake_telegram.calls("sendMessage")) == 3


def test_telegram_a_request_cut_off_after_it_left_is_in_doubt_and_not_retryable() -> None:
    with UnansweringServer(hang_up=True) as hanging_up:
        assert telegram_send(hanging_up.url, at_most_once=True) == Facts("in_doubt", None)
        assert hanging_up.requests_to("/sendMessage") == 1


def test_telegram_no_connection_is_final_without_a_code() -> None:
    assert telegram_send(closed_port_url(), at_most_once=True) == Facts("failed", None)
