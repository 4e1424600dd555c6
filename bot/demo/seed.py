"""`loyalty demo`: N synthetic members with believable histories, generated in memory and
bulk-inserted a batch per transaction (calling the use cases per member would take hours
for 100,000 members). Demo members carry the tag `demo` and `demo-` platform ids."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.app import Services
from bot.demo.batches import batches, no_cycle_collection
from bot.demo.context import ID_TABLES, load_context, next_ids
from bot.demo.insert import insert_rows
from bot.demo.rows import TABLE_ORDER, BatchRows, Packed
from core.models import CouponDefinition, Member, metadata
from core.stats import rebuild_aggregates

BATCH_SIZE = 5_000
PHONE_CHUNK = 500
SQLITE_CACHE_KB = 256 * 1024


class DemoConflict(RuntimeError):
    """Someone else wrote rows with the ids the demo was about to use."""


@dataclass(frozen=True)
class DemoResult:
    members: int
    rows: int
    seconds: float
    seed: int


def seed_demo(
    services: Services,
    *,
    members: int,
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
    ahead: bool = True,
) -> DemoResult:
    """Add `members` demo members to the database, `batch_size` per transaction.

    The programme's coupons and survey must be in the database already (bootstrap with
    migrate=True syncs them). Same seed, same histories; ids follow what is there. With
    `ahead`, the next batch is generated in a worker process while one is written."""
    if members < 0:
        raise ValueError("members must be zero or more")
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    started = time.perf_counter()
    engine = services.database.engine
    with engine.connect() as connection:
        ctx = load_context(connection, programme=services.programme, now=services.clock.now())
        connection.rollback()
    sizes = [min(batch_size, members - start) for start in range(0, members, batch_size)]
    rows = 0
    ahead = ahead and len(sizes) > 1
    with no_cycle_collection(), _large_sqlite_cache(engine):
        try:
            for first_ids, batch in batches(ctx, seed=seed, sizes=sizes, ahead=ahead):
                with engine.begin() as connection:
                    rows += write_batch(connection, batch, first_ids=first_ids)
                if on_progress is not None:
                    on_progress(batch.members)
        finally:
            if rows:  # also after an interruption: the batches written are committed
                _rebuild_stats(services)
    return DemoResult(members=members, rows=rows, seconds=time.perf_counter() - started, seed=seed)


def write_batch(connection: Connection, batch: BatchRows, *, first_ids: dict[str, int]) -> int:
    """Insert one batch in the caller's transaction; returns the number of rows written."""
    taken = next_ids(connection)
    if any(taken[name] > first_ids[name] for name in ID_TABLES):
        raise DemoConflict("the database changed while the demo was seeding; run it again")
    _drop_taken_phones(connection, batch.packed["member"])
    for name in TABLE_ORDER:
        insert_rows(connection, metadata.tables[name], batch.packed[name])
    _count_claims(connection, batch)
    if connection.dialect.name == "postgresql":
        _move_sequences(connection)
    return batch.count


def _rebuild_stats(services: Services) -> None:
    """The stats counters (daily funnel, daily figures, cohorts) recomputed from the rows in
    one statement per aggregate, rather than bumped row by row as the use cases do."""
    with services.database.transaction() as session:
        rebuild_aggregates(session, programme=services.programme)


@contextmanager
def _large_sqlite_cache(engine: Engine) -> Iterator[None]:
    """The indexes that millions of new rows go into do not fit SQLite's default 2 MB page
    cache. The demo writes through one pooled connection at a time; it gets a large cache
    for the run and its old size back after."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with engine.connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        connection.rollback()
    try:
        yield
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")
            connection.rollback()


def _drop_taken_phones(connection: Connection, members: Packed) -> None:
    """A phone number identifies one member: leave it off a demo member if it is in use."""
    at = members.columns.index("phone")
    wanted = [values[at] for values in members.values if values[at]]
    taken: set[str] = set()
    phone = Member.__table__.c.phone  # type: ignore[attr-defined]
    for start in range(0, len(wanted), PHONE_CHUNK):
        chunk = wanted[start : start + PHONE_CHUNK]
        taken.update(connection.execute(sa.select(phone).where(phone.in_(chunk))).scalars())
    for index, values in enumerate(members.values):
        if values[at] in taken:
            members.values[index] = (*values[:at], None, *values[at + 1 :])


def _count_claims(connection: Connection, batch: BatchRows) -> None:
    table = CouponDefinition.__table__  # type: ignore[attr-defined]
    for definition_id, claimed in sorted(batch.claimed.items()):
        connection.execute(
            sa.update(table)
            .where(table.c.id == definition_id)
            .values(claimed=table.c.claimed + claimed)
        )


def _move_sequences(connection: Connection) -> None:
    """Ids the demo chose itself do not advance PostgreSQL's sequences; move them past."""
    for name in ID_TABLES:
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )
