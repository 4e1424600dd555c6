"""Benchmark B3 (DESIGN §8): a campaign to 100,000 members, fake platform limit 1,000 msg/s.

Prints, per database:
 - audience count and outbox build (launch) times, and the build's ratio to a baseline
   measured in the same run: a plain INSERT … SELECT of the same members and chat accounts
   into a bare table (no segment rules, no dedupe key, no variant);
 - the LINE send rate of a delivery worker process as a share of the fake's 1,000 msg/s,
   and its ratio to the fake's raw accept rate: a plain httpx loop posting 500-recipient
   multicasts as fast as the fake takes them;
 - the Telegram send rate (one sendMessage per member, a result committed per message)
   against the same 1,000 msg/s limit — Telegram itself allows about 30;
 - 0 duplicates and 0 lost at the fake, for the uninterrupted run and for a run whose worker
   is killed with SIGKILL mid-send and restarted.
Figures only: the machine may be shared (the load average is printed alongside).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.app import Services, Settings
from bot.app.services import sync_programme
from core.campaigns import Segment, audience_count
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.programme import Programme
from tests.campaigns.crash import Fakes, finish, kill, start_worker, stop_leftovers, wait_until
from tests.campaigns.harness import launch, new_campaign
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, TELEGRAM_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.databases import truncate_all


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    yield
    stop_leftovers()


MEMBERS = int(os.environ.get("LOYALTY_BENCH_B3_MEMBERS", "100000"))
TELEGRAM_MEMBERS = int(os.environ.get("LOYALTY_BENCH_B3_TELEGRAM", "5000"))
LIMIT = 1_000  # messages a second, at the fake platforms
PACE = str(LIMIT * 0.99)  # our LINE pacing: 1 % headroom for clock jitter against the fake
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.mark.timeout(3600)
def test_b3_on_sqlite(tmp_path: Path) -> None:
    report("sqlite", f"sqlite:///{tmp_path / 'b3.db'}", tmp_path)


@pytest.mark.timeout(3600)
def test_b3_on_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    report("postgresql", url, tmp_path)


def report(kind: str, url: str, workdir: Path) -> None:
    from bot.app.migrate import upgrade

    load = os.getloadavg()[0]
    database = Database(url)
    upgrade(database.engine)
    services = Services(settings=Settings(database_url=url), database=database,
                        programme=Programme(), clock=FixedClock(NOW))  # fmt: skip
    sync_programme(services)
    line_people = people(MEMBERS, channel=lambda n: "line")
    telegram_people = people(TELEGRAM_MEMBERS, start=MEMBERS + 1, channel=lambda n: "telegram")
    add_people(database, line_people + telegram_people, now=NOW)
    line_users = {p.user_id for p in line_people}
    say(
        f"\nB3 {kind}: {MEMBERS:,} LINE members (+{TELEGRAM_MEMBERS:,} on Telegram), "
        f"fake limit {LIMIT:,} msg/s; load average {load:.1f} on {os.cpu_count()} CPUs"
    )

    segment = Segment(channels=["line"])
    started = time.perf_counter()
    with database.reader() as session:
        audience = audience_count(session, segment, NOW, ("line", "telegram"))
    counted = time.perf_counter() - started
    campaign = new_campaign(services, name="B3", audience={"channels": ["line"]})
    started = time.perf_counter()
    launched = launch(services, campaign.id)
    built = time.perf_counter() - started
    baseline = plain_insert_select(database)
    assert audience == launched.targeted == MEMBERS
    say(f"  audience count {counted * 1000:,.0f} ms; outbox build {built:.2f} s "
                 f"({MEMBERS / built:,.0f} rows/s); plain INSERT…SELECT {baseline:.2f} s; "
                 f"ratio {built / baseline:.1f}×")  # fmt: skip

    line = FakeLineAPI(access_token=LINE_ACCESS_TOKEN, messages_per_second=LIMIT)
    telegram = FakeTelegramBotAPI(token=TELEGRAM_TOKEN, rate_limit_per_second=LIMIT)
    with line, telegram:
        fakes = Fakes(telegram=telegram, line=line)
        raw = raw_accept_rate(line)
        line.reset()
        finish(start_worker(url, fakes, workdir, "--until-empty", "--line-rate", PACE), workdir)
        rate = send_rate([d.time for d in line.deliveries()])
        exact(Counter(d.to for d in line.deliveries()), line_users)
        requests = len(line.calls("/multicast"))
        say(
            f"  LINE send: {rate:,.0f} msg/s = {rate / LIMIT:.0%} of the limit; raw accept "
            f"rate {raw:,.0f} msg/s, ratio {rate / raw:.2f}; {requests:,} multicasts, "
            "0 duplicates, 0 lost"
        )

        line.reset()
        say("  " + killed_run(services, fakes, url, workdir, line_users))

        tg_campaign = new_campaign(
            services, name="B3 Telegram", audience={"channels": ["telegram"]}
        )
        launch(services, tg_campaign.id)
        finish(start_worker(url, fakes, workdir, "--until-empty", "--telegram-rate", str(LIMIT),
                            "--telegram-per-chat-rate", "10"), workdir)  # fmt: skip
        sent = [c.time for c in telegram.calls("sendMessage") if c.ok]
        tg_rate = send_rate(sent)
        exact(Counter(str(c.params["chat_id"]) for c in telegram.calls("sendMessage") if c.ok),
              {p.user_id for p in telegram_people})  # fmt: skip
        say(f"  Telegram send (one lane): {tg_rate:,.0f} msg/s = {tg_rate / LIMIT:.0%} "
                     f"of the limit, 0 duplicates, 0 lost")  # fmt: skip
    database.dispose()


def say(line: str) -> None:
    print(line, flush=True)


def killed_run(services: Services, fakes: Fakes, url: str, workdir: Path,
               line_users: set[str]) -> str:  # fmt: skip
    """A second campaign to the same members; the worker is killed at about 40 %."""
    campaign = new_campaign(services, name="B3 killed", audience={"channels": ["line"]})
    launch(services, campaign.id)
    worker = start_worker(url, fakes, workdir, "--line-rate", PACE)
    # The fake's own list, not a copy of it: this is polled every few milliseconds.
    wait_until(lambda: len(fakes.line.messaging.deliveries) >= MEMBERS * 0.4, timeout=600,
               what="40 % sent")  # fmt: skip
    kill(worker)
    before = len(fakes.line.deliveries())
    finish(start_worker(url, fakes, workdir, "--until-empty", "--lease-seconds", "1",
                        "--line-rate", PACE), workdir)  # fmt: skip
    received = Counter(d.to for d in fakes.line.deliveries())
    exact(received, line_users)
    repeats = sum(1 for call in fakes.line.calls("/multicast") if call.status == 409)
    return (f"kill -9 after {before:,} of {MEMBERS:,}, restarted: 0 duplicates, 0 lost "
            f"({repeats} multicast(s) answered 409 on their retry key)")  # fmt: skip


def exact(received: Counter[str], expected: set[str]) -> None:
    duplicates = sum(1 for count in received.values() if count > 1)
    lost = len(expected - set(received))
    assert (duplicates, lost, set(received) - expected) == (0, 0, set())


def send_rate(times: list[float]) -> float:
    """Messages a second over the whole seconds from the first delivery on: bursts at a
    window's edge (the fake counts any one-second window) then count as they should."""
    start = min(times)
    whole = max(1, math.floor(max(times) - start))
    return sum(1 for t in times if t < start + whole) / whole


def raw_accept_rate(fake: FakeLineAPI, seconds: float = 5.0) -> float:
    """500-recipient multicasts from a plain httpx loop, as fast as the fake accepts them
    (a 429 is retried at once): the most its limit lets through, measured like ours."""
    body = {"to": [f"U{n:032x}" for n in range(500)], "messages": [{"type": "text", "text": "x"}]}
    headers = {"Authorization": f"Bearer {LINE_ACCESS_TOKEN}"}
    with httpx.Client(base_url=fake.url, headers=headers) as client:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            client.post("/v2/bot/message/multicast", json=body)
    return send_rate([delivery.time for delivery in fake.deliveries()])


def plain_insert_select(database: Database) -> float:
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_b3_baseline")
        connection.exec_driver_sql(
            "CREATE TABLE bench_b3_baseline (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL,"
            " channel VARCHAR(16) NOT NULL, user_id VARCHAR(128) NOT NULL)"
        )
    started = time.perf_counter()
    with database.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO bench_b3_baseline (id, member_id, channel, user_id) "
                "SELECT i.id, i.member_id, i.channel, i.platform_user_id "
                "FROM channel_identity i JOIN member m ON m.id = i.member_id "
                "WHERE i.channel = 'line'"
            )
        )
    seconds = time.perf_counter() - started
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_b3_baseline")
    return seconds
