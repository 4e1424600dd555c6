"""Issue 5, acceptance 3: two `loyalty serve` processes on one PostgreSQL database. Every
automation fires once per member, whichever process runs it; killing the leader (SIGKILL)
hands scheduling to the other, which goes on without sending anything twice.

The processes run every scheduled job every second (LOYALTY_SCHEDULER_INTERVAL_SECONDS)
against members seeded so that each default automation is due for exactly one of them
(member day: for all). The programme's time zone is picked so that it is about noon there
now, away from midnight and from the evening's quiet hours. Telegram is on, against the
fake Bot API, so automation messages have a channel to be queued for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import tests.fakes.fixtures as fake_fixtures
from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.scheduling.leadership import current_leader
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.models import Delivery, LedgerEntry, Member
from core.programme import Programme, load_programme
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.coupons import claim
from tests.support.databases import own_postgres_schema
from tests.support.members import new_member
from tests.support.points import buy
from tests.support.processes import LOYALTY, clean_env, free_port, wait_until_healthy

pytestmark = pytest.mark.slow
fake_telegram = fake_fixtures.fake_telegram

EVERY_DAY = ", ".join(str(day) for day in range(1, 32))
CONFIG = f"""
[[promotions]]
code = "member_day"
name = "Member day double points"
multiplier = 2
days_of_month = [{EVERY_DAY}]
"""


@pytest.fixture
def schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A schema of its own: the servers migrate and use it while the test seeds it."""
    problem = request.config._loyalty_pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    with own_postgres_schema("loyalty_two_servers") as url:
        yield url


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is 12:xx now (Etc/GMT-8 is UTC+8)."""
    offset = 12 - now.hour
    if offset < -12:
        offset += 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def seed(db: Database, programme: Programme, now: datetime) -> dict[str, int]:
    """One member each automation is due for now, on Telegram (user ids 2001…)."""
    clock = FixedClock(now)
    services = Services(Settings(database_url=db.url), db, programme, clock)
    sync_programme(services)

    def member_at(ago: timedelta, user: str) -> int:
        clock.set(now - ago)
        return new_member(db, clock, programme, user, channel="telegram")

    ids = {
        "welcome": member_at(timedelta(hours=1), "2001"),
        "interest_nudge": member_at(timedelta(days=4), "2002"),
        "coupon_expiry": member_at(timedelta(days=28), "2003"),
        "thank_you": member_at(timedelta(days=10), "2004"),
        "birthday": member_at(timedelta(days=40), "2005"),
        "win_back": member_at(timedelta(days=100), "2006"),
        "tier_warning": member_at(timedelta(days=300), "2007"),
        "points_expiry": member_at(timedelta(days=350), "2008"),
    }
    clock.set(now - timedelta(days=350))
    buy(db, clock, programme, ids["points_expiry"], 300)  # expires in 15 days
    clock.set(now - timedelta(days=70))
    buy(db, clock, programme, ids["win_back"], 300)  # at risk after 60 days
    clock.set(now - timedelta(days=28))
    claim(db, clock, programme, ids["coupon_expiry"], "WELCOME50")  # expires in 2 days
    clock.set(now - timedelta(days=1))
    buy(db, clock, programme, ids["thank_you"], 300)  # yesterday
    local_today = now.astimezone(programme.zone).date()
    with db.transaction() as session:
        session.execute(
            sa.update(Member)
            .where(Member.id == ids["birthday"])  # type: ignore[arg-type]
            .values(birthday=local_today.replace(year=1990), tier="silver")
        )
        session.execute(
            sa.update(Member)
            .where(Member.id == ids["tier_warning"])  # type: ignore[arg-type]
            .values(
                tier="silver",
                tier_since=now - timedelta(days=300),
                tier_expires_at=now + timedelta(days=10),
            )
        )
    return ids


def sent(db: Database) -> dict[str, list[int]]:
    """Per automation, the members it wrote a delivery for (with repeats, if any)."""
    with db.reader() as session:
        rows = session.execute(
            sa.select(Delivery.automation, Delivery.member_id).order_by(Delivery.id)  # type: ignore[arg-type]
        ).all()
    found: dict[str, list[int]] = {}
    for automation, member_id in rows:
        found.setdefault(automation, []).append(member_id)
    return found


def birthday_points(db: Database) -> list[int]:
    with db.reader() as session:
        return list(
            session.execute(
                sa.select(LedgerEntry.amount).where(LedgerEntry.source == "birthday")  # type: ignore[arg-type]
            ).scalars()
        )


def leader_pid(db: Database) -> int | None:
    lease = current_leader(db)
    return int(lease.holder.split(":")[1]) if lease else None


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s")


def start(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [LOYALTY, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, port


def test_two_servers_fire_each_automation_once_and_the_survivor_takes_over(
    schema_url: str, tmp_path: Path, fake_telegram: FakeTelegramBotAPI
):
    now = datetime.now(UTC)
    zone = noon_zone(now)
    config = tmp_path / "loyalty.toml"
    config.write_text(CONFIG, encoding="utf-8")
    programme = load_programme(config, timezone=zone)
    db = Database(schema_url)
    ids = seed(db, programme, now)
    expected = {code: [member_id] for code, member_id in ids.items()}
    expected["member_day"] = sorted(ids.values())
    env = clean_env(
        LOYALTY_DATABASE_URL=schema_url,
        LOYALTY_CONFIG=str(config),
        LOYALTY_TIMEZONE=zone,
        LOYALTY_SCHEDULER_INTERVAL_SECONDS="1",
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{fake_telegram.url}/bot",
    )
    first, first_port = start(tmp_path, "first", env)
    second = None
    try:
        wait_until_healthy(first, first_port)
        wait_for(lambda: leader_pid(db) == first.pid, 30, "the first server leads")
        second, second_port = start(tmp_path, "second", env)
        wait_until_healthy(second, second_port)

        def all_fired() -> bool:
            found = sent(db)
            return all(
                sorted(set(found.get(code, []))) == sorted(m) for code, m in expected.items()
            )

        wait_for(all_fired, 60, "every automation fired")
        time.sleep(3)  # three more runs of every job: still once each
        assert {code: sorted(members) for code, members in sent(db).items()} == expected
        assert birthday_points(db) == [100]
        assert leader_pid(db) == first.pid  # the second only served

        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        wait_for(lambda: leader_pid(db) == second.pid, 30, "the second server took over")
        clock = FixedClock(datetime.now(UTC))
        newcomer = new_member(db, clock, programme, "2009", channel="telegram")
        wait_for(lambda: newcomer in sent(db).get("welcome", []), 30, "the new leader welcomes")
        time.sleep(3)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        db.dispose()

    expected["welcome"] = sorted([ids["welcome"], newcomer])
    expected["member_day"] = sorted([*ids.values(), newcomer])
    assert {code: sorted(members) for code, members in sent(db).items()} == expected
    assert birthday_points(db) == [100]
