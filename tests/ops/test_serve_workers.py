"""`loyalty serve --workers N`: several server processes on one port and one PostgreSQL
database. Every update is answered exactly once whichever process takes it, and only one
process at a time runs the scheduler. SQLite is refused: it is served by one process."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

import tests.fakes.fixtures as fake_fixtures
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.webhooks import TelegramUpdates, telegram_headers
from tests.support.databases import truncate_all
from tests.support.processes import (
    LOYALTY,
    clean_env,
    free_port,
    start_serve,
    stop,
    wait_until_healthy,
)

fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MEMBERS = 40


def test_two_workers_answer_every_update_once_and_one_of_them_schedules(
    postgres_schema_url: str,
    tmp_path: Path,
    fake_telegram: FakeTelegramBotAPI,
    telegram_updates: TelegramUpdates,
) -> None:
    truncate_all(postgres_schema_url)
    port = free_port()
    env = clean_env(
        LOYALTY_DATABASE_URL=postgres_schema_url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{fake_telegram.url}/bot",
    )
    process = start_serve(tmp_path, port, env, "--workers", "2")
    updates = [telegram_updates.command(1000 + n, "start") for n in range(MEMBERS)]
    try:
        # On a busy machine uvicorn's supervisor kills a worker that does not answer its
        # health check within 5 s while it is still importing, and starts another.
        wait_until_healthy(process, port)

        def post(update: dict) -> int:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                headers = telegram_headers(TELEGRAM_WEBHOOK_SECRET)
                return client.post("/webhooks/telegram", json=update, headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:  # each update twice: Telegram redelivering
            statuses = list(pool.map(post, updates + updates))
        assert statuses == [200] * (2 * MEMBERS)
        fake_telegram.wait_for(
            lambda: all(fake_telegram.texts_to(1000 + n) for n in range(MEMBERS)), timeout=30
        )
        # Whichever process answers a scrape, it counts for both.
        scrapes = [_webhook_counts(port) for _ in range(8)]
    finally:
        stop(process)
        output = process.stdout.read().decode() if process.stdout else ""
    assert scrapes == [{"accepted": MEMBERS, "duplicate": MEMBERS}] * 8
    assert [len(fake_telegram.texts_to(1000 + n)) for n in range(MEMBERS)] == [1] * MEMBERS
    assert _scalar(postgres_schema_url, "select count(*) from member") == MEMBERS
    workers = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", output)}
    assert len(workers) >= 2, output  # more when the supervisor replaced one (see above)
    leaders = leaderships(output)
    assert leaders and set(leaders) <= workers, output


def test_more_than_one_worker_on_sqlite_is_refused(tmp_path: Path) -> None:
    env = clean_env(LOYALTY_DATABASE_URL=f"sqlite:///{tmp_path / 'loyalty.db'}")
    result = subprocess.run(
        [LOYALTY, "serve", "--port", str(free_port()), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr


LEADERSHIP = re.compile(
    r"scheduler: \S+?:(?P<pid>\d+):\w+ (?P<event>is the leader|gives up the lead|lost leadership)"
    r"|(?:Finished server|Child) process \[(?P<ended>\d+)\]"
)


def leaderships(output: str) -> list[int]:
    """The processes that led the scheduler, in turn, from the log they share. A process
    says it gives up the lead before it lets go of the lock, so a leadership that starts
    before the one before it has ended in the log overlapped it in time: that fails. One
    ends as well when its process finishes or is killed ("Child process [pid] died"): its
    connection closes, and the lock with it. Under load there may be a second leader: a
    worker still running takes over from one that has stopped (issue 11)."""
    leaders: list[int] = []
    leading: int | None = None
    for match in LEADERSHIP.finditer(output):
        pid = int(match["pid"] or match["ended"])
        if match["event"] == "is the leader":
            assert leading is None, f"{pid} leads while {leading} still does:\n{output}"
            leaders.append(leading := pid)
        elif pid == leading:
            leading = None
    return leaders


def test_the_leadership_check_allows_turns_and_catches_an_overlap() -> None:
    def lead(pid: int, event: str) -> str:
        return f"INFO:     scheduler: vm:{pid}:0a1b2c3d {event}"

    turns = [
        lead(11, "is the leader (advisory lock 7)"),
        lead(11, "gives up the lead"),
        lead(12, "is the leader (advisory lock 7)"),
        "INFO:     Finished server process [12]",
        lead(13, "is the leader (advisory lock 7)"),
        "INFO:     Child process [13] died",
        lead(14, "is the leader (advisory lock 7)"),
    ]
    assert leaderships("\n".join(turns)) == [11, 12, 13, 14]
    overlap = [lead(11, "is the leader (advisory lock 7)"), lead(12, "is the leader (lease)")]
    with pytest.raises(AssertionError, match="12 leads while 11 still does"):
        leaderships("\n".join(overlap))


def _webhook_counts(port: int) -> dict[str, int]:
    """Telegram webhook requests by result, from /metrics on a connection of its own."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        text = client.get("/metrics").text
    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "loyalty_webhook_requests_total":
                counts[sample.labels["result"]] = int(sample.value)
    return counts


def _scalar(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()
