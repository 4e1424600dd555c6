"""What benchmarks B1 and B2 share: their processes, the webhook load generator, and
matching each reply the fake Bot API received to the webhook post that caused it.

The load generator is an asyncio httpx client posting update JSON with the secret header
at a fixed concurrency, as Telegram does (it keeps at most `max_connections` webhook
requests open per bot and waits for each answer). Times are `time.time()` in every
process, so a post's send time and its reply's arrival at the fake compare directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.webhooks import telegram_headers
from tests.support.processes import ROOT, clean_env, free_port

HEADERS = telegram_headers(TELEGRAM_WEBHOOK_SECRET)
NO_LIMIT = 100_000.0  # messages a second: our limiter never waits at the rates reached here


@dataclass(frozen=True)
class Post:
    """One webhook post: the chat it is about, when it left, how long the answer took."""

    chat: str
    sent_at: float
    answered_in: float
    status: int


@dataclass(frozen=True)
class Posted:
    """The webhook posts of one run, and what they say of the server's accepting."""

    posts: list[Post]

    @property
    def accepted(self) -> list[Post]:
        return [post for post in self.posts if post.status == 200]

    @property
    def statuses(self) -> Counter[int]:
        return Counter(post.status for post in self.posts)

    @property
    def started(self) -> float:
        return min(post.sent_at for post in self.posts)

    def accept_rate(self) -> float:
        ended = max(post.sent_at + post.answered_in for post in self.posts)
        return len(self.accepted) / (ended - self.started)


@dataclass(frozen=True)
class Call:
    """One call the fake Bot API received."""

    method: str
    chat: str
    at: float
    status: int
    text: str


class FakeBotProcess:
    """The fake Bot API in a process of its own, followed over HTTP."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = spawn(
            workdir / "fake.log", "fake", "--port", str(self.port), "--token", TELEGRAM_TOKEN
        )
        wait_for_http(self._process, f"{self.url}/_fake/sends?since=0", what="the fake Bot API")
        self._seen: list[Call] = []

    def reset(self) -> None:
        httpx.post(f"{self.url}/_fake/reset", timeout=30).raise_for_status()
        self._seen = []

    def calls(self) -> list[Call]:
        """Every call so far (fetching only the new ones)."""
        answer = httpx.get(f"{self.url}/_fake/sends", params={"since": len(self._seen)}, timeout=60)
        answer.raise_for_status()
        self._seen += [
            Call(m, str(chat), at, status, text or "")
            for m, chat, at, status, text in answer.json()["calls"]
        ]
        return self._seen

    def sends(self) -> list[Call]:
        return [
            call for call in self.calls() if call.method == "sendMessage" and call.status == 200
        ]

    def wait_for_sends(self, count: int, *, stalled_after: float = 60.0) -> list[Call]:
        """Poll until `count` messages arrived, or none arrived for `stalled_after` seconds."""
        last, changed = -1, time.monotonic()
        while True:
            sends = self.sends()
            if len(sends) >= count:
                return sends
            if len(sends) != last:
                last, changed = len(sends), time.monotonic()
            elif time.monotonic() - changed > stalled_after:
                return sends
            time.sleep(0.5)

    def stop(self) -> None:
        stop(self._process)


@contextmanager
def fake_bot(workdir: Path) -> Iterator[FakeBotProcess]:
    fake = FakeBotProcess(workdir)
    try:
        yield fake
    finally:
        fake.stop()


@contextmanager
def loyalty_server(
    database_url: str, fake: FakeBotProcess, workdir: Path, *, workers: int = 1, **settings: str
) -> Iterator[str]:
    """Our server on PostgreSQL, replying to the fake; yields its webhook URL. Web only
    (LOYALTY_SCHEDULER=false): the scheduler's catch-up housekeeping on becoming leader
    (scores, risk, reviews over every member) would otherwise share the measured seconds."""
    port = free_port()
    env = {
        "LOYALTY_DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_WEBHOOK_SECRET,
        "TELEGRAM_API_URL": f"{fake.url}/bot",
        "LOYALTY_SCHEDULER": "false",
        **settings,
    }
    process = spawn(
        workdir / "serve.log",
        "serve",
        "--port",
        str(port),
        "--telegram-rate",
        str(NO_LIMIT),
        "--per-chat-rate",
        str(NO_LIMIT),
        "--workers",
        str(workers),
        env=env,
    )
    try:
        wait_for_http(process, f"http://127.0.0.1:{port}/healthz", what="the loyalty server")
        yield f"http://127.0.0.1:{port}/webhooks/telegram"
    finally:
        stop(process)


@contextmanager
def ptb_echo(fake: FakeBotProcess, workdir: Path) -> Iterator[str]:
    """B1's baseline, a bare python-telegram-bot echo webhook; yields its webhook URL."""
    port = free_port()
    process = spawn(
        workdir / "echo.log",
        "echo",
        "--port",
        str(port),
        "--token",
        TELEGRAM_TOKEN,
        "--secret",
        TELEGRAM_WEBHOOK_SECRET,
        "--api-url",
        f"{fake.url}/bot",
    )
    try:
        wait_for_http(process, f"http://127.0.0.1:{port}/healthz", what="the PTB echo webhook")
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop(process)


def spawn(log: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`python -m tests.bench.webhook_processes ARGS`, output to `log`, run from the log's
    folder so no .env or loyalty.toml of the checkout is read."""
    environment = clean_env(**(env or {}), PYTHONPATH=str(ROOT))
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.bench.webhook_processes", *args],
            cwd=log.parent,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for_http(
    process: subprocess.Popen[bytes], url: str, *, what: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not answer within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


# ---- load ---------------------------------------------------------------------------------


def drive(
    url: str,
    bodies: Iterator[tuple[str, bytes]],
    *,
    concurrency: int,
    seconds: float | None = None,
    bot_api: str | None = None,
) -> list[Post]:
    """Post `(chat, body)` pairs from `concurrency` connections until the bodies run out or
    `seconds` pass; every post is recorded, failed ones with status 0. With `bot_api` (the
    fake's `…/bot<token>` URL), a webhook answer that is a Bot API call (`{"method": …}`)
    is made there, as Telegram makes it."""
    return asyncio.run(_drive(url, bodies, concurrency, seconds, bot_api))


async def _drive(
    url: str,
    bodies: Iterator[tuple[str, bytes]],
    concurrency: int,
    seconds: float | None,
    bot_api: str | None,
) -> list[Post]:
    stop_at = None if seconds is None else time.monotonic() + seconds
    posts: list[Post] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120, headers=HEADERS) as client:

        async def connection() -> None:
            for chat, body in bodies:  # one iterator shared by all: each body is posted once
                sent_at, started = time.time(), time.perf_counter()
                try:
                    answer = await client.post(url, content=body)
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                posts.append(Post(chat, sent_at, time.perf_counter() - started, status))
                if status == 200 and bot_api is not None:
                    await perform(client, answer, bot_api)
                if stop_at is not None and time.monotonic() >= stop_at:
                    return

        await asyncio.gather(*(connection() for _ in range(concurrency)))
    return posts


async def perform(client: httpx.AsyncClient, answer: httpx.Response, bot_api: str) -> None:
    """What Telegram does with a webhook answer that is a Bot API call: makes it."""
    call = answer.json()
    if isinstance(call, dict) and isinstance(call.get("method"), str):
        method = call.pop("method")
        await client.post(f"{bot_api}/{method}", json=call)


def fake_capacity(fake: FakeBotProcess, *, concurrency: int, seconds: float = 3.0) -> float:
    """sendMessage calls a second the fake answers to the same kind of load generator:
    what it can take, with the generator's own cost on these cores included."""
    url = f"{fake.url}/bot{TELEGRAM_TOKEN}/sendMessage"

    def bodies() -> Iterator[tuple[str, bytes]]:
        n = 0
        while True:
            n += 1
            yield str(n), json.dumps({"chat_id": n, "text": f"capacity {n}"}).encode()

    posts = drive(url, bodies(), concurrency=concurrency, seconds=seconds)
    ok = [post for post in posts if post.status == 200]
    elapsed = max(p.sent_at + p.answered_in for p in posts) - min(p.sent_at for p in posts)
    fake.reset()
    return len(ok) / elapsed


# ---- figures ------------------------------------------------------------------------------


def reply_latencies(posts: list[Post], replies: list[Call]) -> tuple[list[float], int]:
    """Seconds from each accepted post to its reply at the fake, and how many replies had
    no post. A chat's replies answer its posts in order (the inbox keeps a member's
    updates in order)."""
    waiting: dict[str, deque[Post]] = defaultdict(deque)
    for post in sorted(posts, key=lambda p: p.sent_at):
        if post.status == 200:
            waiting[post.chat].append(post)
    latencies, strays = [], 0
    for reply in sorted(replies, key=lambda r: r.at):
        queue = waiting.get(reply.chat)
        if not queue:
            strays += 1
            continue
        latencies.append(reply.at - queue.popleft().sent_at)
    return latencies, strays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
