"""Which process runs the scheduler: exactly one leader across `loyalty serve` processes.

PostgreSQL: the leader holds a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of its own. When the leader dies, its connection closes and the server releases
the lock, so a follower's next try takes over; no lease to expire, no clock to trust. The
key is derived from the database and schema, so programmes sharing a server do not block
each other. The leader also writes a heartbeat row (`scheduler_lease`) saying who leads.

SQLite (one machine): the `scheduler_lease` row is the lease itself, renewed by its holder
and taken over by another process once it has expired. SQLite is meant for one process;
the lease only keeps a second one (a `loyalty serve` started twice by mistake) from
running the jobs as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel import Clock, Database, upsert_insert
from core.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
# TCP keepalives on the lock's connection: a leader cut off by the network is noticed by
# the server (and its lock released) within about half a minute.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}  # fmt: skip


def holder_name() -> str:
    """This process, as the lease and heartbeat name it: host, pid and a random tag."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leadership(Protocol):
    holder: str

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True while this process leads."""
        ...

    def confirm(self) -> bool:
        """Still the leader? Renews the lease or heartbeat; False once leadership is lost."""
        ...

    def release(self) -> None:
        """Step down (on shutdown), so another process takes over at once."""
        ...


def leadership_for(database: Database, clock: Clock, *, ttl: timedelta) -> Leadership:
    if database.dialect == "postgresql":
        return AdvisoryLockLeadership(database, clock, ttl=ttl)
    return LeaseLeadership(database, clock, ttl=ttl)


class AdvisoryLockLeadership:
    """Leadership by a PostgreSQL session-level advisory lock on a dedicated connection."""

    def __init__(self, database: Database, clock: Clock, *, ttl: timedelta) -> None:
        self.database, self.clock, self.ttl = database, clock, ttl
        self.holder = holder_name()
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return self.confirm()
        try:
            self._connection = connection = self._connect()
            key = lock_key(connection)
            taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            if not taken.scalar():
                self._drop()  # a follower holds no connection between tries
                return False
        except sa.exc.SQLAlchemyError:
            log.warning("scheduler: cannot reach PostgreSQL to take the lock", exc_info=True)
            self._drop()
            return False
        log.info("scheduler: %s is the leader (advisory lock %s)", self.holder, key)
        write_heartbeat(self.database, holder=self.holder, until=self.clock.now() + self.ttl)
        return True

    def confirm(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            # The connection is gone, and the lock with it: someone else may lead now.
            log.warning("scheduler: lost the lock's connection; stepping down", exc_info=True)
            self._drop()
            return False
        try:
            write_heartbeat(self.database, holder=self.holder, until=self.clock.now() + self.ttl)
        except sa.exc.SQLAlchemyError:
            log.warning("scheduler: heartbeat not written", exc_info=True)
        return True

    def release(self) -> None:
        if self._connection is not None:
            # Said before the lock goes, so that no other process's "is the leader" comes
            # first in a log they share.
            log.info("scheduler: %s gives up the lead", self.holder)
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        self._drop(dispose=True)

    def _connect(self) -> Connection:
        if self._engine is None:
            self._engine = sa.create_engine(
                self.database.url, poolclass=sa.pool.NullPool, connect_args=KEEPALIVES
            )
        return self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _drop(self, *, dispose: bool = False) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.close()
            self._connection = None
        if dispose and self._engine is not None:
            self._engine.dispose()
            self._engine = None


def lock_key(connection: Connection) -> int:
    """A 64-bit advisory lock key for this database and schema."""
    database, schema = connection.execute(
        sa.text("SELECT current_database(), current_schema()")
    ).one()
    digest = hashlib.blake2b(f"loyalty-scheduler:{database}:{schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class LeaseLeadership:
    """Leadership by a lease row with an expiry (SQLite, where there are no advisory locks)."""

    def __init__(self, database: Database, clock: Clock, *, ttl: timedelta) -> None:
        self.database, self.clock, self.ttl = database, clock, ttl
        self.holder = holder_name()
        self._leading = False

    def try_acquire(self) -> bool:
        was_leading = self._leading
        self._leading = self._take_or_renew()
        if self._leading and not was_leading:
            log.info("scheduler: %s is the leader (lease)", self.holder)
        return self._leading

    def confirm(self) -> bool:
        return self.try_acquire() if self._leading else False

    def release(self) -> None:
        if not self._leading:
            return
        log.info("scheduler: %s gives up the lead", self.holder)
        self._leading = False
        table = SchedulerLease.__table__  # type: ignore[attr-defined]
        with self.database.engine.begin() as connection:
            connection.execute(
                sa.delete(table).where(table.c.name == LEASE_NAME, table.c.holder == self.holder)
            )

    def _take_or_renew(self) -> bool:
        now = self.clock.now()
        table = SchedulerLease.__table__  # type: ignore[attr-defined]
        with self.database.engine.begin() as connection:
            # Taken when free, expired, or ours: one conditional statement, so two
            # processes racing for an expired lease cannot both win.
            taken = connection.execute(
                _upsert(self.database.dialect, table, holder=self.holder, until=now + self.ttl)
                .on_conflict_do_update(
                    index_elements=["name"],
                    set_={"holder": self.holder, "expires_at": now + self.ttl},
                    where=sa.or_(table.c.holder == self.holder, table.c.expires_at < now),
                )
                .returning(table.c.holder)
            ).first()
        return taken is not None and taken[0] == self.holder


def _upsert(dialect: str, table: sa.Table, *, holder: str, until: datetime):  # type: ignore[no-untyped-def]
    return upsert_insert(dialect, table).values(name=LEASE_NAME, holder=holder, expires_at=until)


def write_heartbeat(database: Database, *, holder: str, until: datetime) -> None:
    """Record who leads and until when they are expected to check in again (PostgreSQL:
    informational; the advisory lock decides)."""
    table = SchedulerLease.__table__  # type: ignore[attr-defined]
    with database.engine.begin() as connection:
        connection.execute(
            _upsert(database.dialect, table, holder=holder, until=until).on_conflict_do_update(
                index_elements=["name"], set_={"holder": holder, "expires_at": until}
            )
        )


def current_leader(database: Database) -> SchedulerLease | None:
    """The lease or heartbeat row: who leads, or last led, the scheduler."""
    table = SchedulerLease.__table__  # type: ignore[attr-defined]
    with database.read_engine.connect() as connection:
        row = connection.execute(sa.select(table).where(table.c.name == LEASE_NAME)).first()
    return SchedulerLease(**row._mapping) if row else None
