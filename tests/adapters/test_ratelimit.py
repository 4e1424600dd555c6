"""The senders' rate limits on a fake clock: bursts, the waits between sends, pauses asked
by the platform and the limit shared with other processes, to the exact second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from adapters.ratelimit import ChatRateLimiter, SharedLimit, TokenBucket
from tests.support.clocks import FakeSeconds

Acquire = Callable[[], Awaitable[None]]


def passed_at(time: FakeSeconds, *acquisitions: Acquire, together: bool = False) -> list[float]:
    """Run the acquisitions one after another (or all at once, in that order): the seconds
    on the fake clock, from the start, at which each got through."""
    start = time.now
    times: list[float] = []

    async def timed(acquire: Acquire) -> None:
        await acquire()
        times.append(time.now - start)

    async def work() -> None:
        if together:
            await asyncio.gather(*(timed(acquire) for acquire in acquisitions))
        else:
            for acquire in acquisitions:
                await timed(acquire)

    asyncio.run(asyncio.wait_for(work(), timeout=10))
    return times


def bucket(time: FakeSeconds, rate: float, burst: float | None = None) -> TokenBucket:
    return TokenBucket(rate, burst, monotonic=time, sleep=time.sleep)


def chat_limiter(
    time: FakeSeconds,
    global_rate: float,
    per_chat_rate: float,
    *,
    per_chat_burst: float = 1,
    max_chats: int = 10_000,
    shared: SharedLimit | None = None,
) -> ChatRateLimiter:
    return ChatRateLimiter(
        global_rate,
        per_chat_rate,
        per_chat_burst=per_chat_burst,
        max_chats=max_chats,
        shared=shared,
        shared_key="telegram:send",
        monotonic=time,
        sleep=time.sleep,
    )


def to(limiter: ChatRateLimiter, *chats: str) -> list[Acquire]:
    return [lambda chat=chat: limiter.acquire(chat) for chat in chats]


class FakeSharedLimit:
    """The limit kept with other processes: answers the waits it is given, in turn, then 0;
    or fails as a database that is away would."""

    def __init__(self, *waits: float, down: bool = False) -> None:
        self.waits, self.down = list(waits), down
        self.keys: list[str] = []

    def take(self, key: str) -> float:
        self.keys.append(key)
        if self.down:
            raise ConnectionError("the database is away")
        return self.waits.pop(0) if self.waits else 0.0


def test_a_bucket_gives_its_burst_at_once_then_one_token_per_interval() -> None:
    time = FakeSeconds()
    five_a_second = bucket(time, 5, burst=2)
    times = passed_at(time, *[five_a_second.acquire] * 6)
    assert times == pytest.approx([0, 0, 0.2, 0.4, 0.6, 0.8])


def test_a_bucket_left_idle_refills_only_up_to_its_burst() -> None:
    time = FakeSeconds()
    five_a_second = bucket(time, 5, burst=2)
    passed_at(time, *[five_a_second.acquire] * 2)
    time.advance(60)
    assert passed_at(time, *[five_a_second.acquire] * 3) == pytest.approx([0, 0, 0.2])


def test_a_bucket_without_a_burst_allows_one_second_of_its_rate() -> None:
    time = FakeSeconds()
    twenty_a_second = bucket(time, 20)
    times = passed_at(time, *[twenty_a_second.acquire] * 22)
    assert times == pytest.approx([0] * 20 + [0.05, 0.1])


def test_a_pause_holds_the_bucket_for_the_longest_pause_asked() -> None:
    time = FakeSeconds()
    one_a_second = bucket(time, 1, burst=1)
    passed_at(time, one_a_second.acquire)
    one_a_second.pause(5)
    one_a_second.pause(2)  # a shorter pause does not end the longer one early
    # After the pause a token is there: it was refilled meanwhile.
    assert passed_at(time, one_a_second.acquire) == pytest.approx([5])


def test_sends_to_one_chat_at_once_are_spaced_after_a_small_burst() -> None:
    time = FakeSeconds()
    limiter = chat_limiter(time, global_rate=30, per_chat_rate=5, per_chat_burst=2)
    times = passed_at(time, *to(limiter, *["9"] * 6), together=True)
    assert times == pytest.approx([0, 0, 0.2, 0.4, 0.6, 0.8])


def test_each_chat_has_its_own_limit() -> None:
    time = FakeSeconds()
    limiter = chat_limiter(time, global_rate=100, per_chat_rate=1, per_chat_burst=2)
    times = passed_at(time, *to(limiter, "a", "a", "b", "b", "a"))
    assert times == pytest.approx([0, 0, 0, 0, 1])


def test_the_global_rate_is_kept_across_chats() -> None:
    time = FakeSeconds()
    limiter = chat_limiter(time, global_rate=20, per_chat_rate=1)
    times = passed_at(time, *to(limiter, *(str(chat) for chat in range(40))))
    assert times == pytest.approx([0] * 20 + [0.05 * n for n in range(1, 21)])


def test_a_global_pause_holds_every_chat_and_a_chat_pause_that_chat_only() -> None:
    time = FakeSeconds()
    limiter = chat_limiter(time, global_rate=30, per_chat_rate=1, per_chat_burst=2)
    limiter.pause(1.5)
    assert passed_at(time, *to(limiter, "never sent to")) == pytest.approx([1.5])
    limiter.pause(3, "a")
    assert passed_at(time, *to(limiter, "b", "a")) == pytest.approx([0, 3])


def test_the_least_recently_used_chats_are_forgotten() -> None:
    time = FakeSeconds()
    limiter = chat_limiter(time, global_rate=30, per_chat_rate=1, max_chats=2)
    # "c" pushes out "a", whose next send starts a fresh bucket instead of waiting a second.
    assert passed_at(time, *to(limiter, "a", "b", "c", "a")) == [0, 0, 0, 0]


def test_the_shared_limit_is_waited_for_after_the_local_ones() -> None:
    time = FakeSeconds()
    shared = FakeSharedLimit(0.3, 0.1)
    limiter = chat_limiter(time, global_rate=30, per_chat_rate=1, shared=shared)
    assert passed_at(time, *to(limiter, "a")) == pytest.approx([0.4])
    assert shared.keys == ["telegram:send"] * 3


def test_without_the_shared_limit_the_local_ones_alone_hold(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeSeconds()
    shared = FakeSharedLimit(down=True)
    limiter = chat_limiter(time, global_rate=30, per_chat_rate=1, shared=shared)
    with caplog.at_level(logging.WARNING, logger="adapters.ratelimit"):
        times = passed_at(time, *to(limiter, "a", "a"))
    assert times == pytest.approx([0, 1])  # the per-chat limit still holds
    assert "the shared send limit is unavailable" in caplog.text
