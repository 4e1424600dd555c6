"""`loyalty serve --workers N`: several server processes on one port and one PostgreSQL
database. Every update is answered exactly once whichever process takes it, and only one
process runs the scheduler. SQLite is refused: it is served by one process."""

from __future__ import annotations

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
    assert output.count("Started server process") == 2, output
    assert output.count("is the leader (advisory lock") == 1, output


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
