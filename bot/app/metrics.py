"""Prometheus metrics (`GET /metrics`): webhooks, replies, sends, job runs and queue depths.

Each Services holds its own CollectorRegistry, so two apps in one process (tests) never
share counts. Counters are incremented where things happen (web, inbox, messenger,
delivery senders, the scheduler); the queue depths are read from the database when
Prometheus scrapes, with two counts on indexed status columns. Under `loyalty serve
--workers N` the processes write their metrics to files in one directory (prometheus_client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR), and whichever process Prometheus reaches
answers with the sums of all of them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from core.models import Delivery, InboundUpdate

if TYPE_CHECKING:
    from core.kernel import Database

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
WAITING_UPDATES = ("received", "processing")
WAITING_DELIVERIES = ("queued", "sending")


class Metrics:
    """The application's metrics in a registry of its own."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "loyalty_webhook_requests",
            "Webhook requests by channel and result: accepted (something new stored), "
            "duplicate (all redeliveries), 400, 401, 404 (channel off), 413.",
            ["channel", "result"],
            registry=registry,
        )
        self.webhook_seconds = Histogram(
            "loyalty_webhook_seconds",
            "Time to answer a webhook request (the update is stored, not yet handled).",
            ["channel"],
            registry=registry,
        )
        self.updates = Counter(
            "loyalty_updates_handled",
            "Stored updates handled by the inbox, by channel and outcome (done, retry, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            "loyalty_update_handling_seconds",
            "Time to handle one update: dialogs, reply and notices.",
            ["channel"],
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.replies = Counter(
            "loyalty_replies",
            "Replies to a member's message, by channel and outcome (sent, blocked, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.sends = Counter(
            "loyalty_sends",
            "Messages pushed to members, by channel, kind (notice, campaign, automation) and "
            "outcome (sent, blocked, failed).",
            ["channel", "kind", "outcome"],
            registry=registry,
        )
        self.job_runs = Counter(
            "loyalty_job_runs",
            "Scheduled job runs by job and outcome (ok, failed).",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_seconds = Histogram(
            "loyalty_job_seconds",
            "Duration of scheduled job runs.",
            ["job"],
            registry=registry,
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
        )
        self.inbox_depth = Gauge(
            "loyalty_inbox_queue_depth",
            "Webhook updates stored and not yet handled (received or processing).",
            registry=registry,
            multiprocess_mode="mostrecent",  # set from the database at a scrape
        )
        self.outbox_depth = Gauge(
            "loyalty_outbox_queue_depth",
            "Deliveries waiting in the outbox (queued or sending), by channel.",
            ["channel"],
            registry=registry,
            multiprocess_mode="mostrecent",  # set from the database at a scrape
        )
        self.database_up = Gauge(
            "loyalty_database_up",
            "1 when the last scrape could read the queue depths from the database.",
            registry=registry,
            multiprocess_mode="mostrecent",  # set from the database at a scrape
        )

    def webhook(self, channel: str, result: str, seconds: float | None = None) -> None:
        self.webhooks.labels(channel, result).inc()
        if seconds is not None:
            self.webhook_seconds.labels(channel).observe(seconds)

    def reply(self, channel: str, outcome: str) -> None:
        self.replies.labels(channel, outcome).inc()

    def send(self, channel: str, outcome: str, *, kind: str = "notice", count: int = 1) -> None:
        """Count pushed messages; delivery senders call this with kind campaign/automation."""
        self.sends.labels(channel, kind, outcome).inc(count)

    def update_handled(self, channel: str, outcome: str, seconds: float) -> None:
        self.updates.labels(channel, outcome).inc()
        self.update_seconds.labels(channel).observe(seconds)

    @contextmanager
    def job_run(self, job: str) -> Iterator[None]:
        """Count and time one run of a scheduled job: `with services.metrics.job_run(name):`.
        A run that raises counts as failed, and the exception goes on."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            yield
            outcome = "ok"
        finally:
            self.job_runs.labels(job, outcome).inc()
            self.job_seconds.labels(job).observe(time.perf_counter() - started)

    def read_queues(self, database: Database) -> None:
        """Set the queue-depth gauges from the database (at scrape time)."""
        updates: sa.Table = InboundUpdate.__table__  # type: ignore[attr-defined]
        deliveries: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
        try:
            with database.read_engine.connect() as connection:
                inbox = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(updates)
                    .where(updates.c.status.in_(WAITING_UPDATES))
                ).scalar_one()
                outbox = connection.execute(
                    sa.select(deliveries.c.channel, sa.func.count())
                    .where(deliveries.c.status.in_(WAITING_DELIVERIES))
                    .group_by(deliveries.c.channel)
                ).all()
        except sa.exc.SQLAlchemyError:
            log.warning("metrics: could not read the queue depths", exc_info=True)
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.inbox_depth.set(inbox)
        seen = {channel for channel, _ in outbox}
        for channel, depth in outbox:
            self.outbox_depth.labels(channel).set(depth)
        for labels in list(self._outbox_channels()):
            if labels not in seen:  # drained since the last scrape
                self.outbox_depth.labels(labels).set(0)

    def _outbox_channels(self) -> Iterator[str]:
        for metric in self.outbox_depth.collect():
            for sample in metric.samples:
                yield sample.labels["channel"]

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):  # every worker's files, summed
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


@contextmanager
def shared_metrics() -> Iterator[Path]:
    """Around `serve --workers N`: the directory the worker processes (started inside)
    keep their metrics in — PROMETHEUS_MULTIPROC_DIR if set, emptied first, else a fresh
    one removed at the end."""
    chosen = os.environ.get(MULTIPROCESS_ENV)
    path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="loyalty-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous run's counts would be added in
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(path)
    try:
        yield path
    finally:
        if not chosen:
            shutil.rmtree(path, ignore_errors=True)
