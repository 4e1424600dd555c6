"""The separate processes of benchmarks B1 and B2, each its own Python (its own GIL):

    python -m tests.bench.webhook_processes fake  --port N --token T
    python -m tests.bench.webhook_processes serve --port N --telegram-rate R --per-chat-rate C
    python -m tests.bench.webhook_processes echo  --port N --token T --secret S --api-url U

`fake` is the fake Bot API with one more control endpoint, `GET /_fake/sends?since=K`: the
calls from the K-th on as compact rows, so the bench can follow thousands of replies
without fetching every call's parameters again on each poll.

`serve` is `loyalty serve` (bot/cli/server.py) with one difference: the Telegram channel's send
limits. `loyalty serve` builds its channels with Telegram's real limits (30 messages a
second, 1 a second per chat) and no setting changes them, so this passes higher ones to
`build_channels`, the same composition root, or the bench would measure our rate limiter.

`echo` is B1's baseline: a bare python-telegram-bot echo webhook on the same stack
(FastAPI on uvicorn, PTB's `telegram.Bot` over httpx). Like PTB's own webhook server it
answers the webhook at once and sends the reply in the background.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse

from tests.fakes._http import Request, Response, run_cli
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.webhooks import TELEGRAM_SECRET_HEADER

RATES_ENV = "LOYALTY_BENCH_SEND_RATES"  # global,per-chat: for the server processes


class FollowedBotAPI(FakeTelegramBotAPI):
    """The fake Bot API, plus `GET /_fake/sends?since=K`: rows of
    [method, chat_id, time.time() when answered, HTTP status, text] from call K on."""

    def control(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/_fake/sends":
            since = int(request.query.get("since", "0"))
            rows = [
                [c.method, c.params.get("chat_id"), c.time, c.status, c.params.get("text", "")]
                for c in self.calls()[since:]
            ]
            return Response.json(200, {"calls": rows})
        return super().control(request)


def fake(argv: list[str]) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--token", default=None)

    run_cli(
        "The fake Bot API of benchmarks B1 and B2.",
        lambda options: FollowedBotAPI(token=options.token),
        add_arguments,
        argv,
    )


def serve(argv: list[str]) -> None:
    """`loyalty serve` with higher Telegram send limits; settings from the environment.
    With `--workers N`, N processes on the port as `loyalty serve --workers N` runs them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--telegram-rate", type=float, required=True)
    parser.add_argument("--per-chat-rate", type=float, required=True)
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args(argv)
    import uvicorn

    from bot.app import bootstrap

    bootstrap(migrate=True).close()
    os.environ[RATES_ENV] = f"{options.telegram_rate},{options.per_chat_rate}"
    uvicorn.run(
        "tests.bench.webhook_processes:served_app",
        factory=True,
        workers=options.workers,
        host="127.0.0.1",
        port=options.port,
        log_level="info",
    )


def served_app() -> FastAPI:
    """One server process: `bot.web.worker_app` with the bench's send limits."""
    from bot.app import bootstrap, build_channels
    from bot.web import create_app

    services = bootstrap()
    rate, per_chat = (float(value) for value in os.environ[RATES_ENV].split(","))
    channels = build_channels(
        services.settings,
        telegram_rate=rate,
        telegram_per_chat_rate=per_chat,
        database=services.database,  # the global rate kept in PostgreSQL, as in production
    )
    return create_app(services, channels, scheduler=services.settings.scheduler_enabled)


def echo(argv: list[str]) -> None:
    """The baseline: parse with `Update.de_json`, reply with `bot.send_message`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--api-url", required=True)
    options = parser.parse_args(argv)
    import telegram
    import uvicorn

    bot = telegram.Bot(options.token, base_url=options.api_url)
    sending: set[asyncio.Task[object]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bot.initialize()
        yield
        await bot.shutdown()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhook")
    async def webhook(request: HttpRequest) -> JSONResponse:
        if request.headers.get(TELEGRAM_SECRET_HEADER) != options.secret:
            return JSONResponse({"ok": False}, status_code=401)
        update = telegram.Update.de_json(await request.json(), bot)
        message, chat = update.effective_message, update.effective_chat
        if message is not None and chat is not None:
            task = asyncio.create_task(bot.send_message(chat.id, message.text or "echo"))
            sending.add(task)  # keep a reference until it is done, as asyncio asks
            task.add_done_callback(sending.discard)
        return JSONResponse({"ok": True})

    uvicorn.run(app, host="127.0.0.1", port=options.port, log_level="info")


if __name__ == "__main__":
    commands = {"fake": fake, "serve": serve, "echo": echo}
    commands[sys.argv[1]](sys.argv[2:])
