"""Engines and sessions for SQLite and PostgreSQL, configured so use cases behave alike on both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from core.kernel.uow import commit

# Ids and counts are 32-bit integer columns on PostgreSQL: a bigger value is a typo, to be
# refused as such rather than fail in the driver (or pass on SQLite).
MAX_INT = 2**31 - 1


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> Engine:
    """An engine for `url`. On SQLite every transaction begins IMMEDIATE when `immediate`
    is set, so concurrent writers queue on the busy timeout instead of failing to upgrade
    a read lock; WAL lets readers go on meanwhile.

    No pre-ping on PostgreSQL: it cost a round trip per checkout, nearly half of a chat
    turn's (bench B1). Connections are recycled after 30 minutes instead, before server or
    proxy idle timeouts; after a database restart the first statement on each stale
    connection fails, SQLAlchemy drops the whole pool, and the work is retried (inbox,
    outbox and jobs retry; an API client gets a 503-like error once)."""
    url = normalise_url(url)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_recycle", 1800)
        return sa.create_engine(url, **kwargs)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs
    )
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The application's database: a writer engine and, on SQLite, a separate reader engine."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_options)
        self.read_engine = (
            make_engine(self.url, immediate=False, **engine_options)
            if is_sqlite(self.url)
            else self.engine
        )
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self._readers = sessionmaker(self.read_engine, class_=Session, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """A session for a use case; the use case commits once."""
        return self._sessions()

    def reader(self) -> Session:
        """A session for queries that write nothing (stats, listings)."""
        return self._readers()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits when the block ends (through the unit of work, so
        counters bumped in the block are kept) and rolls back on error."""
        with self.session() as session:
            try:
                yield session
                commit(session)
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> bool:
        try:
            with self.read_engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
