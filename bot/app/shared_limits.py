"""Rate limits that several processes keep together in PostgreSQL: the admin API's per
token, and Telegram's global send limit.

GCRA (the generic cell rate algorithm) in one upsert: a key's theoretical arrival time moves
on by 1/rate per request, and a request is allowed while it stays within `burst` intervals
of now. The clock is each process's own wall clock (hosts kept in time by NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from core.kernel import Database
from core.models import RateLimit

_R = RateLimit.__table__  # type: ignore[attr-defined]


class SharedRateLimiter:
    """The same limit kept in the database for every process using it (PostgreSQL). `now`
    is the wall clock in seconds, which every process reads alike; tests pass a fake one."""

    def __init__(
        self, database: Database, rate: float, burst: int, *, now: Callable[[], float] = time.time
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.database = database
        self.interval, self.window = 1 / rate, burst / rate
        self._now = now

    def take(self, key: str) -> float:
        now = self._now()
        moved = sa.func.greatest(_R.c.tat, now) + self.interval
        taken = (
            postgresql.insert(_R)
            .values(key=key, tat=now + self.interval)
            .on_conflict_do_update(
                index_elements=[_R.c.key], set_={"tat": moved}, where=moved - now <= self.window
            )
            .returning(_R.c.tat)
        )
        with self.database.engine.begin() as connection:
            if connection.execute(taken).first() is not None:
                return 0.0
            tat = connection.execute(sa.select(_R.c.tat).where(_R.c.key == key)).scalar_one()
        return max(0.0, max(tat, now) + self.interval - self.window - now)
