"""The inbox: webhook updates are stored before the platform gets its 200, then handled.

So an accepted update is never lost (a crash leaves it `received` or `processing`, and
the next run takes it again), the webhook answers fast under load, and a redelivered
update (same platform id) is stored once. Handling is idempotent per update because
dialogs derive their idempotency keys from the platform's update id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from bot.app import Services
from bot.dialogs import Dialogs
from bot.inbound.messenger import Messenger
from core.chat import Channel, InboundItem
from core.kernel import upsert_insert
from core.models import InboundUpdate

log = logging.getLogger(__name__)

# A transaction-level advisory lock per database and schema, released at commit.
CLAIM_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended("
    "'loyalty-inbox-claim:' || current_database() || ':' || current_schema(), 0))"
)
STALE_CLAIM = timedelta(minutes=2)  # a claim older than this belonged to a dead worker
MAX_ATTEMPTS = 5


class Inbox:
    def __init__(
        self,
        services: Services,
        dialogs: Dialogs,
        channels: Mapping[str, Channel],
        messenger: Messenger,
        *,
        batch: int = 64,
        concurrency: int = 16,
    ) -> None:
        self.services = services
        self.dialogs = dialogs
        self.channels = channels
        self.messenger = messenger
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._table = InboundUpdate.__table__  # type: ignore[attr-defined]

    def accept(self, channel: str, items: list[InboundItem]) -> int:
        """Store the updates of one webhook body; duplicates are ignored. Returns how many
        were new. Runs before the webhook answers, so it must be quick: one statement."""
        if not items:
            return 0
        now = self.services.clock.now()
        rows = [
            {
                "channel": channel,
                "update_id": item.update_id,
                "payload": item.payload,
                "user_key": item.user_key,
                "status": "received",
                "attempts": 0,
                "received_at": now,
            }
            for item in items
        ]
        insert = upsert_insert(self.services.database.dialect, self._table)
        # One multi-row INSERT … RETURNING: executemany's rowcount is -1 on PostgreSQL, and
        # RETURNING yields exactly the rows that were new (not the ignored duplicates).
        statement = (
            insert.values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(self._table.c.id)
        )
        try:
            inserted = self._insert(statement)
        except DBAPIError as error:
            # A connection the database dropped (it restarted): the pool is renewed by
            # now, and the insert is idempotent, so one more try before Telegram or LINE
            # gets an error and has to redeliver.
            if not error.connection_invalidated:
                raise
            inserted = self._insert(statement)
        self._wakeup.set()
        return inserted

    def _insert(self, statement: sa.Executable) -> int:
        with self.services.database.engine.begin() as connection:
            return len(connection.execute(statement).all())

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Handle stored updates until cancelled: at once when woken, else every poll."""
        while True:
            try:
                while await self.process_once():
                    pass
            except Exception:  # keep the loop alive; the rows stay and are retried
                log.exception("inbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            self._wakeup.clear()

    async def drain(self, timeout: float = 10.0) -> None:
        """Handle everything pending (tests, shutdown)."""
        async with asyncio.timeout(timeout):
            while await self.process_once():
                pass

    async def process_once(self) -> int:
        rows = await asyncio.to_thread(self.claim)
        if not rows:
            return 0
        by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_user[row["user_key"] or f"row:{row['id']}"].append(row)
        await asyncio.gather(*(self._handle_in_order(group) for group in by_user.values()))
        return len(rows)

    def claim(self) -> list[dict[str, Any]]:
        """Claim a batch: received updates, and updates a dead worker left half-done.
        An update waits while an earlier one of the same user is being handled."""
        table = self._table
        now = self.services.clock.now()
        stale = now - STALE_CLAIM
        busy = sa.alias(table, "busy")
        candidates = (
            sa.select(table.c.id)
            .where(
                sa.or_(
                    table.c.status == "received",
                    sa.and_(table.c.status == "processing", table.c.claimed_at < stale),
                )
            )
            .where(
                ~sa.exists().where(
                    busy.c.user_key == table.c.user_key,
                    busy.c.status == "processing",
                    busy.c.claimed_at >= stale,
                )
            )
            .order_by(table.c.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        statement = (
            sa.update(table)
            .where(table.c.id.in_(candidates.scalar_subquery()))
            .values(status="processing", claimed_at=now, attempts=table.c.attempts + 1)
            .returning(
                table.c.id, table.c.channel, table.c.payload, table.c.user_key, table.c.attempts
            )
        )
        with self.services.database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One claim at a time across processes (`serve --workers`, several hosts):
                # a claim must see the rows the previous one took, or two processes could
                # take two updates of one member at once and answer them out of order.
                connection.execute(CLAIM_LOCK)
            rows = [dict(row._mapping) for row in connection.execute(statement)]
        return sorted(rows, key=lambda row: row["id"])

    async def _handle_in_order(self, rows: list[dict[str, Any]]) -> None:
        async with self._slots:
            for row in rows:
                await self._handle(row)

    async def _handle(self, row: dict[str, Any]) -> None:
        started = time.perf_counter()
        channel = self.channels.get(row["channel"])
        error = None
        try:
            incoming = channel.to_incoming(row["payload"]) if channel else None
            if incoming is not None and channel is not None:
                outcome = await asyncio.to_thread(self.dialogs.handle, incoming)
                if not outcome.reply.empty:
                    await self.messenger.reply(
                        channel, incoming, outcome.reply, retry_key=f"reply-{row['id']}"
                    )
                for index, notice in enumerate(outcome.notices):
                    await self.messenger.send_to_member(
                        notice.member_id, notice.reply, retry_key=f"notice-{row['id']}-{index}"
                    )
        except Exception as exc:
            log.exception("handling update %s failed", row["id"])
            error = f"{type(exc).__name__}: {exc}"[:500]
        await asyncio.to_thread(self._finish, row, error)
        status = (
            "done" if error is None else "retry" if row["attempts"] < MAX_ATTEMPTS else "failed"
        )
        self.services.metrics.update_handled(row["channel"], status, time.perf_counter() - started)

    def _finish(self, row: dict[str, Any], error: str | None) -> None:
        """Record the outcome. A handled update keeps only its ids, enough to ignore a
        redelivery: what the member wrote and who they are is not kept past its turn. A
        failed one keeps its body for a look (erasing the member blanks it too)."""
        table = self._table
        retry = error is not None and row["attempts"] < MAX_ATTEMPTS
        values: dict[str, Any] = {
            "status": "received" if retry else ("failed" if error else "done"),
            "error": error,
            "processed_at": self.services.clock.now(),
        }
        if error is None:
            values |= {"payload": {}, "user_key": None}
        with self.services.database.engine.begin() as connection:
            connection.execute(sa.update(table).where(table.c.id == row["id"]).values(**values))

    def pending(self) -> int:
        table = self._table
        with self.services.database.read_engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(table.c.status.in_(("received", "processing")))
                ).scalar_one()
            )
