"""Benchmark B1 (DESIGN §8): Telegram webhook updates (`/points` from signed-up members) end
to end through our server on PostgreSQL, replies to the fake Bot API.

Three processes besides this one: our server (`loyalty serve` with Telegram send limits
high enough that our rate limiter never waits, web only: see webhook_processes.py), the
fake Bot API, and PostgreSQL. This process is the load generator: LOYALTY_B1_CONCURRENCY
(default 32) connections post `/points` updates of distinct members for LOYALTY_B1_SECONDS
(default 20) after a short warm-up. Prints, for our server and for the baseline — a bare
python-telegram-bot echo webhook on the same stack (FastAPI, uvicorn, PTB), driven the
same way against the same fake:
 - updates/s accepted (HTTP 200) and webhook answer latency p50/p99;
 - replies/s completed (first post to last reply at the fake, so a backlog left in the
   inbox when the load stops counts against us) and end-to-end latency p50/p99, post to
   reply at the fake;
 - the ratios ours/baseline for replies/s and for end-to-end p99;
and the fake's own capacity for the same load generator, to show it is not the limit.
Asserted: no failed post, every accepted update answered once. Nothing on time.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.kernel import Database
from tests.bench.webhook_load import (
    FakeBotProcess,
    Posted,
    drive,
    fake_bot,
    fake_capacity,
    load_average,
    loyalty_server,
    ms,
    percentile,
    ptb_echo,
    reply_latencies,
)
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import TELEGRAM_TOKEN
from tests.fakes.webhooks import TelegramUpdates
from tests.support.databases import truncate_all

MEMBERS = int(os.environ.get("LOYALTY_B1_MEMBERS", "20000"))
SECONDS = float(os.environ.get("LOYALTY_B1_SECONDS", "20"))
CONCURRENCY = int(os.environ.get("LOYALTY_B1_CONCURRENCY", "32"))
WORKERS = int(os.environ.get("LOYALTY_B1_WORKERS", "1"))  # server processes
WARM_UP_SECONDS = 2.0


@dataclass(frozen=True)
class Run(Posted):
    """What one webhook server did with the load."""

    latencies: list[float]  # post to reply at the fake, one per answered update
    strays: int  # replies the fake received that answer no post
    last_reply: float  # time.time() of the last reply at the fake

    def reply_rate(self) -> float:
        """Replies a second from the first post to the last reply."""
        return len(self.latencies) / (self.last_reply - self.started)

    def line(self, name: str) -> str:
        answers = [post.answered_in for post in self.accepted]
        return (
            f"  {name}: {len(self.posts):,} posts, {len(self.accepted):,} accepted "
            f"({self.accept_rate():,.0f}/s; answer p50 {ms(percentile(answers, 0.5))}, "
            f"p99 {ms(percentile(answers, 0.99))}); {len(self.latencies):,} replies "
            f"({self.reply_rate():,.0f}/s; end to end p50 {ms(percentile(self.latencies, 0.5))}, "
            f"p99 {ms(percentile(self.latencies, 0.99))})"
        )


def updates(user_ids: list[int], builder: TelegramUpdates) -> Iterator[tuple[str, bytes]]:
    """`/points` from each member in turn (round and round if the run outlasts them)."""
    for user_id in itertools.cycle(user_ids):
        who = TelegramUpdates.user(user_id, first_name=f"Member {user_id}")
        yield str(user_id), json.dumps(builder.command(who, "points")).encode()


def measure(url: str, fake: FakeBotProcess, bodies: Iterator[tuple[str, bytes]]) -> Run:
    """A warm-up, then the measured run; the fake is reset in between."""
    warm = drive(url, bodies, concurrency=CONCURRENCY, seconds=WARM_UP_SECONDS)
    fake.wait_for_sends(sum(1 for post in warm if post.status == 200))
    fake.reset()
    posts = drive(url, bodies, concurrency=CONCURRENCY, seconds=SECONDS)
    accepted = sum(1 for post in posts if post.status == 200)
    replies = fake.wait_for_sends(accepted)
    latencies, strays = reply_latencies(posts, replies)
    fake.reset()
    last_reply = max(reply.at for reply in replies)
    return Run(posts=posts, latencies=latencies, strays=strays, last_reply=last_reply)


@pytest.mark.timeout(3600)
def test_b1_telegram_webhooks_end_to_end(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    database = Database(url)
    members = people(MEMBERS, channel=lambda n: "telegram")
    add_people(database, members, now=datetime.now(UTC))
    database.dispose()
    user_ids = [int(person.user_id) for person in members]
    bot_id = int(TELEGRAM_TOKEN.split(":")[0])
    print(
        f"\nB1 Telegram /points webhooks on PostgreSQL: {MEMBERS:,} members, {CONCURRENCY} "
        f"connections, {WORKERS} server process(es), {SECONDS:g} s after a "
        f"{WARM_UP_SECONDS:g} s warm-up; {load_average()}",
        flush=True,
    )
    with fake_bot(tmp_path) as fake:
        capacity = fake_capacity(fake, concurrency=CONCURRENCY)
        with loyalty_server(url, fake, tmp_path, workers=WORKERS) as webhook:
            ours = measure(webhook, fake, updates(user_ids, TelegramUpdates(bot_id=bot_id)))
        print(ours.line("ours"), flush=True)
        with ptb_echo(fake, tmp_path) as webhook:
            base = measure(webhook, fake, updates(user_ids, TelegramUpdates(bot_id=bot_id)))
        print(base.line("PTB echo"), flush=True)
    p99_ours, p99_base = percentile(ours.latencies, 0.99), percentile(base.latencies, 0.99)
    print(
        f"  ratio ours/baseline: replies/s {ours.reply_rate() / base.reply_rate():.2f}, "
        f"accepted/s {ours.accept_rate() / base.accept_rate():.2f}, end-to-end p99 "
        f"{p99_ours / p99_base:.1f}×; the fake alone takes {capacity:,.0f} sendMessage/s "
        f"from this load generator; {load_average()}",
        flush=True,
    )
    for run in (ours, base):
        assert run.statuses == Counter({200: len(run.posts)}), run.statuses
        assert (len(run.latencies), run.strays) == (len(run.accepted), 0)
