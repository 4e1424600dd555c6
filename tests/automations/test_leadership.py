"""Who runs the scheduler: one leader at a time, and another takes over when it is gone.
Lease leadership runs on both databases with a fixed clock; the advisory lock on
PostgreSQL, with a second connection that kills the leader's session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.scheduling.leadership import AdvisoryLockLeadership, LeaseLeadership, current_leader
from core.kernel import Database
from core.kernel.clock import FixedClock
from tests.support.databases import truncate_all

TTL = timedelta(seconds=15)


def test_one_process_holds_the_lease_until_it_expires_or_is_released(
    db: Database, clock: FixedClock
):
    first, second = LeaseLeadership(db, clock, ttl=TTL), LeaseLeadership(db, clock, ttl=TTL)

    assert first.try_acquire()
    assert not second.try_acquire()
    clock.advance(seconds=10)
    assert first.confirm()  # renewed: good for 15 seconds from now
    clock.advance(seconds=10)
    assert not second.try_acquire()
    assert current_leader(db).holder == first.holder  # type: ignore[union-attr]

    clock.advance(seconds=16)  # the leader stopped renewing (it died)
    assert second.try_acquire()
    assert not first.confirm()  # it comes back to find it lost the lease
    assert current_leader(db).holder == second.holder  # type: ignore[union-attr]

    second.release()
    assert current_leader(db) is None
    assert first.try_acquire()


@pytest.fixture
def pg(postgres_schema_url: str) -> Iterator[Database]:
    truncate_all(postgres_schema_url)
    database = Database(postgres_schema_url)
    yield database
    database.dispose()


def test_the_advisory_lock_has_one_holder_and_passes_on_when_its_session_dies(
    pg: Database, clock: FixedClock
):
    first, second = (
        AdvisoryLockLeadership(pg, clock, ttl=TTL),
        AdvisoryLockLeadership(pg, clock, ttl=TTL),
    )
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.confirm()
        assert current_leader(pg).holder == first.holder  # type: ignore[union-attr]

        # The leader's process dies: the server ends its session, and the lock with it.
        with pg.engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": _pid(first)})
            admin.commit()
        # Termination is asynchronous: the lock goes when the backend has exited.
        assert _within(5.0, second.try_acquire)
        assert not first.confirm()
        assert current_leader(pg).holder == second.holder  # type: ignore[union-attr]

        second.release()  # a clean shutdown hands over at once
        assert first.try_acquire()
    finally:
        first.release()
        second.release()


def _within(seconds: float, attempt: Callable[[], bool]) -> bool:
    """True as soon as `attempt` succeeds, trying for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not attempt():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _pid(leadership: AdvisoryLockLeadership) -> int:
    """The server process of the leader's lock connection."""
    assert leadership._connection is not None
    return int(leadership._connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
