"""Outbox deliveries to Telegram are sent at most once (no idempotency key in the Bot API):
the hook runs before the request leaves, a request that may have arrived is not tried
again (in doubt), and one that never left is retried. Real PTB, real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from adapters.telegram import TelegramChannel
from core.chat import Reply, SendResult
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.unanswering import UnansweringServer


@pytest.fixture
def hanging_up() -> Iterator[UnansweringServer]:
    """Reads each request whole, then closes the connection unanswered: the request
    arrived, and the client cannot know it."""
    with UnansweringServer(hang_up=True) as server:
        yield server


def send(api_url: str, *, at_most_once: bool) -> tuple[SendResult, int]:
    """One message through a started channel; the result and how often the hook ran."""
    hooked = 0

    async def before_request() -> None:
        nonlocal hooked
        hooked += 1

    async def scenario() -> SendResult:
        channel = TelegramChannel(
            token=TELEGRAM_TOKEN,
            webhook_secret=TELEGRAM_WEBHOOK_SECRET,
            api_url=f"{api_url}/bot",
            network_backoff=0.05,
        )
        await channel.start()  # getMe fails too: a warning, and sending goes on
        try:
            return await channel.send(
                "42", Reply.text("hi"), before_request=before_request if at_most_once else None
            )
        finally:
            await channel.close()

    result = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    return result, hooked


def test_a_delivery_whose_request_may_have_arrived_is_in_doubt_and_not_repeated(
    hanging_up: UnansweringServer,
) -> None:
    result, hooked = send(hanging_up.url, at_most_once=True)
    assert (result.status, hooked, hanging_up.requests_to("/sendMessage")) == ("in_doubt", 1, 1)
    assert "NetworkError" in result.detail
    # No answer, and no retry key to make a second try safe: nothing says "send it again".
    assert (result.status_code, result.retryable) == (None, False)


def test_a_reply_is_retried_after_a_lost_connection(hanging_up: UnansweringServer) -> None:
    result, hooked = send(hanging_up.url, at_most_once=False)
    sends = hanging_up.requests_to("/sendMessage")
    assert (result.status, hooked, sends) == ("failed", 0, 3)  # the first try and two retries
    assert (result.status_code, result.retryable) == (None, False)


def test_a_delivery_that_never_left_is_retried() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        closed_port = placeholder.getsockname()[1]
    result, hooked = send(f"http://127.0.0.1:{closed_port}", at_most_once=True)
    assert result.status == "failed" and "ConnectError" in result.detail
    assert hooked == 1  # once, before the first request: the retries follow it
