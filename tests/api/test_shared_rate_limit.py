"""On PostgreSQL the API's rate limits, and Telegram's global send limit, are kept in the
database: processes (here: two limiters, and two apps, each on a connection pool of its own)
hold a caller to one limit together instead of one each. SQLite is served by one process and
keeps them in memory. The limiters read a fake clock: waits are exact, and nobody waits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from adapters.ratelimit import ChatRateLimiter
from bot.api import limiter_for
from bot.api.ratelimit import Limiter, RateLimiter
from bot.app import Services, Settings, SharedRateLimiter
from bot.app.services import sync_programme
from bot.web import create_app
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.programme import Programme
from tests.api.conftest import TOKEN, with_api_settings
from tests.conftest import START
from tests.support.clocks import FakeSeconds
from tests.support.databases import truncate_all


@pytest.fixture
def two_pools(postgres_schema_url: str) -> Iterator[tuple[Database, Database]]:
    """The same PostgreSQL database as two processes see it."""
    truncate_all(postgres_schema_url)
    first, second = Database(postgres_schema_url), Database(postgres_schema_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_two_processes_share_one_burst_and_one_rate(two_pools: tuple[Database, Database]) -> None:
    time = FakeSeconds()
    limiters = [SharedRateLimiter(database, 1.0, 5, now=time) for database in two_pools]
    waits = [limiters[n % 2].take("token:7") for n in range(10)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([1.0] * 5)  # the next request is allowed 1 s from now
    time.advance(2.0)
    assert [limiters[n % 2].take("token:7") for n in range(3)] == pytest.approx([0, 0, 1.0])
    assert limiters[0].take("token:8") == 0.0  # another caller, another limit


def test_api_callers_are_limited_across_processes(two_pools: tuple[Database, Database]) -> None:
    apps = []
    for database in two_pools:
        settings = Settings(database_url=database.url)
        services = Services(
            settings=settings, database=database, programme=Programme(), clock=FixedClock(START)
        )
        sync_programme(services)
        apps.append(create_app(with_api_settings(services, api_rate_limit=0.01, api_rate_burst=3)))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(apps[0], headers=headers) as one, TestClient(apps[1], headers=headers) as two:
        statuses = [client.get("/api/v1/coupons").status_code for client in (one, two) * 3]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_two_senders_keep_one_global_send_limit_together(
    two_pools: tuple[Database, Database],
) -> None:
    """Each process alone would send its 8 a second at once (a local burst of 8); the limit
    kept together spaces the six sends of both processes by an eighth of a second. (Eighths
    keep the float arithmetic exact: the fake clock lands on each boundary exactly.)"""
    time = FakeSeconds()
    senders = [
        ChatRateLimiter(
            8,
            100,
            shared=SharedRateLimiter(database, 8, burst=1, now=time),
            shared_key="telegram:send",
            monotonic=time,
            sleep=time.sleep,
        )
        for database in two_pools
    ]
    start = time.now
    sent_at: list[float] = []

    async def send_six() -> None:
        for n in range(6):
            await senders[n % 2].acquire(str(300 + n))
            sent_at.append(time.now - start)

    asyncio.run(asyncio.wait_for(send_six(), timeout=30))
    assert sent_at == [n / 8 for n in range(6)]


def limits_one_a_second_in_bursts_of_two(database: Database) -> Limiter:
    """The API's limiter for `database`, checked to read the clock it was given."""
    time = FakeSeconds()
    limiter = limiter_for(database, 1.0, 2, clock=time)
    assert [limiter.take("token:7") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    time.advance(1.0)
    assert limiter.take("token:7") == 0.0
    return limiter


def test_sqlite_keeps_limits_in_the_process(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'loyalty.db'}")
    try:
        assert isinstance(limits_one_a_second_in_bursts_of_two(database), RateLimiter)
    finally:
        database.dispose()


def test_postgresql_keeps_limits_in_the_database(two_pools: tuple[Database, Database]) -> None:
    limiter = limits_one_a_second_in_bursts_of_two(two_pools[0])
    assert isinstance(limiter, SharedRateLimiter)
