"""Killing a delivery worker process mid-campaign, for the crash tests and the benchmark.

The worker (`python -m bot.delivery`) runs as a separate process against the fake
platforms, which stay in the test process and keep what they received across the kill.
`Holding*` fakes accept one chosen request and then hold its answer, so a test can kill
the worker in the exact instant between the platform accepting and our commit.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from core.kernel import Database
from core.models import Delivery
from core.outbox import IN_DOUBT
from tests.campaigns.harness import WEBHOOK_SECRET
from tests.fakes._http import Request, Response
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET, TELEGRAM_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.processes import ROOT, clean_env

# Quiet hours would hold rows depending on the hour the test runs at: the worker process
# keeps real time. The rules themselves are tested with a frozen clock elsewhere.
NO_QUIET_HOURS = "[quiet_hours]\nstart = 00:00:00\nend = 00:00:00\n"
STARTED: list[subprocess.Popen[bytes]] = []


class _Hold:
    def __init__(self, at: int | None) -> None:
        self.at = at
        self.count = 0
        self.accepted = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def after(self, matched: bool) -> None:
        if not matched:
            return
        with self._lock:
            self.count += 1
            hold = self.count == self.at
        if hold:
            self.accepted.set()
            self.release.wait(60)


class HoldingLineAPI(FakeLineAPI):
    """Delivers multicast number `hold_at`, then holds its answer until `release`."""

    def __init__(self, *, hold_at: int | None = None, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.hold = _Hold(hold_at)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        self.hold.after(request.path.endswith("/multicast") and response.status == 200)
        return response


class HoldingTelegramAPI(FakeTelegramBotAPI):
    """Sends message number `hold_at`, then holds its answer until `release`."""

    def __init__(self, *, hold_at: int | None = None, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.hold = _Hold(hold_at)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        self.hold.after(request.path.endswith("/sendMessage") and response.status == 200)
        return response


@dataclass
class Fakes:
    telegram: FakeTelegramBotAPI
    line: FakeLineAPI


def start_worker(
    url: str, fakes: Fakes, workdir: Path, *arguments: str, log_name: str = "worker"
) -> subprocess.Popen[bytes]:
    config = workdir / "loyalty.toml"
    config.write_text(NO_QUIET_HOURS, encoding="utf-8")
    env = clean_env(
        LOYALTY_DATABASE_URL=url,
        LOYALTY_CONFIG=str(config),
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{fakes.telegram.url}/bot",
        LINE_CHANNEL_SECRET=LINE_CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_ACCESS_TOKEN,
        LINE_API_URL=fakes.line.url,
    )
    log = open(workdir / f"{log_name}.log", "ab")  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.delivery", *arguments],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    STARTED.append(process)
    return process


def stop_leftovers() -> None:
    """Kill workers a failed or timed-out test left running."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no cleanup, no last commit."""
    process.kill()
    process.wait(timeout=10)


def finish(process: subprocess.Popen[bytes], workdir: Path, timeout: float = 600) -> None:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    log = (workdir / "worker.log").read_text(errors="replace")[-3000:]
    assert code == 0, f"the worker exited with {code}:\n{log}"


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


def sending_users(database: Database, channel: str) -> set[str]:
    """Chat accounts whose rows were `sending` (claimed, result not committed)."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.user_id).where(
                table.c.channel == channel, table.c.status == "sending"
            )  # fmt: skip
        )
        return {user_id for (user_id,) in rows}


def in_doubt_users(database: Database, channel: str) -> set[str]:
    """Chat accounts whose rows are `sent`, in doubt: a sender died with the request out."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.user_id).where(
                table.c.channel == channel, table.c.status == "sent", table.c.reason == IN_DOUBT
            )  # fmt: skip
        )
        return {user_id for (user_id,) in rows}


def telegram_received(fake: FakeTelegramBotAPI) -> Counter[str]:
    return Counter(str(c.params.get("chat_id")) for c in fake.calls("sendMessage") if c.ok)


def line_received(fake: FakeLineAPI) -> Counter[str]:
    return Counter(delivery.to for delivery in fake.deliveries())
