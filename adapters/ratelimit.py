"""Async rate limiting for senders: a global token bucket plus one bucket per chat, and
optionally a global limit shared with other processes (kept in the database by bot/)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

# The clock and the wait a limiter uses: the real ones unless a test hands in a fake clock,
# so that it can check waits exactly and never wait in real time.
Monotonic = Callable[[], float]  # seconds that never go back, like time.monotonic
Sleep = Callable[[float], Awaitable[None]]  # like asyncio.sleep


class SharedLimit(Protocol):
    def take(self, key: str) -> float:
        """Take one send for `key`: 0 when allowed now, else the seconds to wait. Blocking
        (a database round trip): called in a thread."""
        ...


class TokenBucket:
    """At most `rate` acquisitions per second on average, bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._monotonic, self._sleep = monotonic, sleep
        self._tokens = self.capacity
        self._stamp = monotonic()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._monotonic()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Stop handing out tokens for `seconds` (the platform asked us to wait)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)


class ChatRateLimiter:
    """A global limit and a per-chat limit, e.g. Telegram's ~30 messages/s overall and
    1 message/s per chat. Per-chat buckets are kept for the most recent chats only."""

    def __init__(
        self,
        global_rate: float,
        per_chat_rate: float,
        *,
        per_chat_burst: float = 1,
        max_chats: int = 10_000,
        shared: SharedLimit | None = None,
        shared_key: str = "global",
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._monotonic, self._sleep = monotonic, sleep
        self.global_bucket = TokenBucket(global_rate, monotonic=monotonic, sleep=sleep)
        self.shared, self.shared_key = shared, shared_key
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.max_chats = max_chats
        self._chats: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, chat: str) -> TokenBucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            bucket = TokenBucket(
                self.per_chat_rate,
                self.per_chat_burst,
                monotonic=self._monotonic,
                sleep=self._sleep,
            )
            self._chats[chat] = bucket
            if len(self._chats) > self.max_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat)
        return bucket

    async def acquire(self, chat: str) -> None:
        await self._bucket(chat).acquire()
        await self.global_bucket.acquire()
        if self.shared is not None:
            await self._take_shared(self.shared)

    async def _take_shared(self, shared: SharedLimit) -> None:
        """Wait for the limit shared with other processes. If it cannot be read (the
        database is away), the local limits alone hold and the platform's 429s do the rest."""
        while True:
            try:
                wait = await asyncio.to_thread(shared.take, self.shared_key)
            except Exception:
                log.warning("the shared send limit is unavailable; sending on local limits")
                return
            if wait <= 0:
                return
            await self._sleep(wait)

    def pause(self, seconds: float, chat: str | None = None) -> None:
        (self._bucket(chat) if chat else self.global_bucket).pause(seconds)
