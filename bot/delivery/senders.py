"""The senders that drain the delivery outbox, one loop per configured channel.

Each pass claims due rows in a thread (core.outbox.claims: opt-out, reachability, quiet
hours and the frequency cap are applied there, and the claimed rows are committed as
`sending` with a batch key before any request leaves), sends them, and commits each
result as soon as the platform has answered.

LINE: rows with the same message are sent by multicast, at most 500 recipients a request,
with the batch key as the X-Line-Retry-Key seed. A sender killed at any point leaves its
batch `sending`; after the lease another sender sends the very same batch again with the
same key, and LINE answers 409 for what it had accepted: every member gets it once.

Telegram has no idempotency key, so a message is sent at most once. Right before its
request leaves (after the rate limiter), the row's `attempted_at` is committed; the answer
is committed right after it comes, with one request in flight per lane (`telegram_lanes`,
default 1). Rows waiting for the rate limiter, or between requests, are safe: a kill there
loses nothing and repeats nothing. A sender killed while a request was out leaves that row
`sending` with `attempted_at`: the next claim records it `sent`, in doubt, rather than show
it twice — it arrived unless the kill fell in the instant between that commit and the
request reaching Telegram. A timeout after the request left is in doubt the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

from sqlmodel import Session

from bot.app import Services
from bot.delivery.render import Renderer
from core.campaigns import complete_campaigns
from core.chat import BeforeRequest, Channel, Reply, SendResult
from core.outbox import (
    LEASE,
    Claim,
    OutboxRow,
    claim_due,
    mark_attempted,
    mark_blocked,
    mark_failed,
    mark_sent,
)

log = logging.getLogger(__name__)

MULTICAST_LIMIT = 500
RETRY_AFTER = timedelta(seconds=30)  # a retryable failure (SendResult.retryable): try again


@runtime_checkable
class Multicaster(Protocol):
    async def multicast(
        self, user_ids: Sequence[str], reply: Reply, *, retry_key: str
    ) -> dict[str, SendResult]: ...


class Pacer:
    """Spaces requests so that at most `rate` messages a second go out on average."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._next = time.monotonic()

    async def wait(self, messages: int) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + messages / self.rate
        if start > now:
            await asyncio.sleep(start - now)


class DeliveryWorker:
    def __init__(
        self,
        services: Services,
        channels: Mapping[str, Channel],
        *,
        multicast_batch: int = 2_000,
        batch: int = 100,
        telegram_lanes: int = 1,
        line_messages_per_second: float | None = None,
        lease: timedelta = LEASE,
        name: str | None = None,
    ) -> None:
        self.services = services
        self.channels = dict(channels)
        self.multicast_batch = multicast_batch  # rows a claim takes for multicasts (LINE)
        self.batch = batch  # rows a claim takes for sending one by one (Telegram)
        self.lanes = max(1, telegram_lanes)
        self.pacer = Pacer(line_messages_per_second)
        self.lease = lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.renderer = Renderer(services.programme)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Send until cancelled: every channel at once, each pass right after the last
        while there is work, else every `poll_seconds` (or when woken)."""
        await asyncio.gather(*(self._loop(name, poll_seconds) for name in self.channels))

    async def _loop(self, name: str, poll_seconds: float) -> None:
        while True:
            try:
                touched = await self.process_once(name)
            except Exception:  # keep sending; the rows stay and are taken again
                log.exception("delivery pass on %s failed", name)
                touched = 0
            if touched:
                continue
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._complete)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            self._wakeup.clear()

    async def drain(self, timeout: float = 120.0) -> None:
        """Send everything due now on every channel, then finish drained campaigns."""
        async with asyncio.timeout(timeout):
            while sum(await asyncio.gather(*(self.process_once(n) for n in self.channels))):
                pass
        await asyncio.to_thread(self._complete)

    async def process_once(self, name: str) -> int:
        """One claim and its sends; returns how many rows it touched (sent, held, skipped)."""
        channel = self.channels[name]
        claim = await asyncio.to_thread(self._claim, name)
        if claim.rows:
            if isinstance(channel, Multicaster):
                await self._send_multicast(channel, claim)
            else:
                await self._send_each(channel, claim.rows)
        return claim.touched

    def _claim(self, name: str) -> Claim:
        services = self.services
        multicast = isinstance(self.channels[name], Multicaster)
        with services.database.session() as session:
            claim = claim_due(
                session,
                channel=name,
                now=services.clock.now(),
                limit=self.multicast_batch if multicast else self.batch,
                worker=self.name,
                programme=services.programme,
                group_size=MULTICAST_LIMIT if multicast else None,
                lease=self.lease,
            )
            if claim.rows:
                self.renderer.load(session, claim.rows)
        if claim.resumed:
            log.warning("%s: sending %d rows again (a sender stopped)", name, claim.resumed)
        return claim

    # ---- LINE -------------------------------------------------------------------------

    async def _send_multicast(self, channel: Multicaster, claim: Claim) -> None:
        for batch in claim.batches():
            reply = self._render(batch[0])
            if reply is None:
                await asyncio.to_thread(self._fail, batch, "could not render the message")
                continue
            await self.pacer.wait(len(batch))
            if len(batch) == 1 and batch[0].content:
                # A message of its own (its buttons name the delivery): a push, which also
                # tells us when the member blocked the account.
                result = await self._send_one(channel, batch[0], reply)  # type: ignore[arg-type]
                await asyncio.to_thread(self._record, batch[0], result)
                continue
            try:
                results = await channel.multicast(
                    [row.user_id for row in batch], reply, retry_key=batch[0].batch_key
                )
                outcome = results[batch[0].user_id]
            except Exception as exc:  # a bug, not LINE (LineCalls handles LINE's failures)
                log.exception("multicast of batch %s failed", batch[0].batch_key)
                outcome = SendResult("failed", f"error: {type(exc).__name__}")
            await asyncio.to_thread(self._record_batch, batch, outcome)

    # ---- Telegram and others: one message per row -------------------------------------

    async def _send_each(self, channel: Channel, rows: list[OutboxRow]) -> None:
        waiting = deque(sorted(rows, key=lambda row: row.id))

        async def lane() -> None:
            while waiting:
                row = waiting.popleft()
                reply = self._render(row)
                if reply is None:
                    await asyncio.to_thread(self._fail, [row], "could not render the message")
                    continue
                result = await self._send_one(
                    channel, row, reply, before_request=self._attempting(row)
                )
                await asyncio.to_thread(self._record, row, result)

        await asyncio.gather(*(lane() for _ in range(min(self.lanes, len(waiting)))))

    def _attempting(self, row: OutboxRow) -> BeforeRequest:
        """Records, before the request leaves, that the row is going (see mark_attempted)."""

        async def mark() -> None:
            await asyncio.to_thread(self._mark_attempted, row.id)

        return mark

    def _mark_attempted(self, delivery_id: int) -> None:
        with self.services.database.session() as session:
            mark_attempted(session, delivery_id=delivery_id, now=self.services.clock.now())

    async def _send_one(
        self,
        channel: Channel,
        row: OutboxRow,
        reply: Reply,
        *,
        before_request: BeforeRequest | None = None,
    ) -> SendResult:
        try:
            return await channel.send(
                row.user_id,
                reply,
                retry_key=f"d{row.id}-{row.batch_key}",
                before_request=before_request,
            )
        except Exception as exc:  # a bug, not the platform: fail the row, never resend it
            log.exception("sending delivery %s failed", row.id)
            return SendResult("failed", f"error: {type(exc).__name__}")

    def _render(self, row: OutboxRow) -> Reply | None:
        try:
            return self.renderer.render(row)
        except Exception:
            log.exception("could not render delivery %s", row.id)
            return None

    # ---- results ----------------------------------------------------------------------

    def _record(self, row: OutboxRow, result: SendResult) -> None:
        services = self.services
        services.metrics.send(row.channel, result.status, kind=_kind(row))
        with services.database.session() as session:
            if result.status in ("sent", "in_doubt"):
                mark_sent(
                    session,
                    delivery_ids=[row.id],
                    now=services.clock.now(),
                    in_doubt=result.status == "in_doubt",
                )
            elif result.member_unreachable:
                mark_blocked(
                    session, delivery_id=row.id, clock=services.clock, reason=result.detail
                )
            else:
                self._failed(session, [row], result)

    def _record_batch(self, rows: list[OutboxRow], result: SendResult) -> None:
        services = self.services
        services.metrics.send(rows[0].channel, result.status, kind=_kind(rows[0]), count=len(rows))
        with services.database.session() as session:
            if result.status == "sent":  # LINE's multicast does not report blocks
                mark_sent(session, delivery_ids=[row.id for row in rows], now=services.clock.now())
            else:
                self._failed(session, rows, result)

    def _failed(self, session: Session, rows: list[OutboxRow], result: SendResult) -> None:
        # A failure that may pass, on a platform that dedupes on the retry key (LINE: no
        # answer, a 5xx, a rate limit outlasting the waits — not the month's quota), goes
        # back to the queue with its batch key: sent again with the same key, it cannot
        # arrive twice.
        retry_at = self.services.clock.now() + RETRY_AFTER if result.retryable else None
        mark_failed(
            session,
            delivery_ids=[row.id for row in rows],
            reason=result.detail or "failed",
            retry_at=retry_at,
        )

    def _fail(self, rows: list[OutboxRow], reason: str) -> None:
        with self.services.database.session() as session:
            mark_failed(session, delivery_ids=[row.id for row in rows], reason=reason)

    def _complete(self) -> None:
        with self.services.database.session() as session:
            complete_campaigns(session, now=self.services.clock.now())


def _kind(row: OutboxRow) -> str:
    """The `kind` label of the sends metric."""
    return "campaign" if row.campaign_id is not None else "automation"
