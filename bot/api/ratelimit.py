"""Per-token rate limiting for the admin API: at most `rate` requests a second per caller on
average, in bursts of up to `burst`.

`RateLimiter` keeps its buckets in this process (SQLite: one process serves). On PostgreSQL
`bot.app.shared_limits.SharedRateLimiter` keeps them in the database, so the processes of
`serve --workers N`, or of several machines, hold a caller to one limit together.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.app import SharedRateLimiter
from core.kernel import Database


class Limiter(Protocol):
    def take(self, key: str) -> float:
        """Take one request for `key`: 0 when allowed, else the seconds to wait."""
        ...


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """At most `rate` requests per second per key on average, in bursts of up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst = rate, burst
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # sync endpoints run on a thread pool

    def take(self, key: str) -> float:
        """Take one token for `key`. Returns 0 when allowed, else the seconds to wait."""
        now = self._monotonic()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(tokens=self.burst, stamp=now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            self._buckets[key] = bucket  # most recently used last
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


def limiter_for(
    database: Database, rate: float, burst: int, *, clock: Callable[[], float] | None = None
) -> Limiter:
    """Shared in the database on PostgreSQL (any number of processes), else in-process.
    `clock` (seconds) is for tests; by default the shared limiter reads the wall clock, which
    processes on several hosts can compare, and the in-process one the monotonic clock."""
    if database.dialect == "postgresql":
        return SharedRateLimiter(database, rate, burst, now=clock or time.time)
    return RateLimiter(rate, burst, monotonic=clock or time.monotonic)


def retry_after_seconds(wait: float) -> int:
    """Whole seconds for the Retry-After header; never 0, which would invite a retry storm."""
    return max(1, math.ceil(wait))
