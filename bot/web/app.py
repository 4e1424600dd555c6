"""The web app: health, readiness, the platform webhooks and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from bot.api import build_api_router, limiter_for
from bot.app import CHANNEL_NAMES, Services, build_channels, remember_bot_username
from bot.delivery import DeliveryWorker
from bot.dialogs import Dialogs
from bot.inbound import Inbox, Messenger
from bot.line import start_menu_linker
from bot.scheduling import start_scheduler
from core.chat import BadUpdate, Channel

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1_000_000
ACCEPTED_HEADER = "X-Loyalty-Accepted"  # how many updates of the body were new


def worker_app() -> FastAPI:
    """The app of one of `loyalty serve --workers N`'s processes (uvicorn's factory): the
    database (PostgreSQL) is migrated already; the processes keep Telegram's global send
    limit together in it (see `build_channels`)."""
    from bot.app import bootstrap

    services = bootstrap()
    return create_app(services, scheduler=services.settings.scheduler_enabled)


def create_app(
    services: Services, channels: dict[str, Channel] | None = None, *, scheduler: bool = False
) -> FastAPI:
    """The ASGI app. Channels default to those the settings switch on; their SDK clients
    start in the lifespan, and so does the inbox worker that handles stored updates.
    With `scheduler` (`loyalty serve`), the process also competes to run the scheduler."""
    if channels is None:
        channels = build_channels(services.settings, database=services.database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for channel in channels.values():
            await channel.start()
        remember_bot_username(services.settings, channels)  # for /invite's deep link
        messenger = Messenger(services, channels)
        inbox = Inbox(services, Dialogs(services), channels, messenger)
        app.state.inbox, app.state.messenger = inbox, messenger
        worker = asyncio.create_task(inbox.run(), name="inbox")
        app.state.deliveries = DeliveryWorker(services, channels)  # drains the outbox
        sender = asyncio.create_task(app.state.deliveries.run(), name="deliveries")
        menus = start_menu_linker(services, channels)  # LINE rich menus follow tier changes
        jobs = None
        if scheduler:
            app.state.scheduler, jobs = start_scheduler(services)
        try:
            yield
        finally:
            for task in (jobs, worker, menus, sender):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for channel in channels.values():
                await channel.close()
            services.close()

    app = FastAPI(title="Loyalty", version="0.1.0", lifespan=lifespan)
    app.state.services = services
    app.state.channels = channels

    @app.get("/healthz", tags=["ops"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="The database is reachable",
        responses={503: {"description": "The database is not reachable"}},
    )
    async def readyz() -> JSONResponse:
        if await run_in_threadpool(services.database.ping):
            return JSONResponse({"status": "ready", "database": services.database.dialect})
        return JSONResponse(
            {"status": "unavailable", "database": services.database.dialect}, status_code=503
        )

    add_metrics_route(app, services)
    for name in CHANNEL_NAMES:  # each answers 404 while its channel is off
        _add_webhook(app, name, channels)
    settings = services.settings
    limiter = limiter_for(services.database, settings.api_rate_limit, settings.api_rate_burst)
    app.include_router(build_api_router(settings, limiter=limiter))
    return app


def _add_webhook(app: FastAPI, name: str, channels: dict[str, Channel]) -> None:
    async def webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        response, result = await _webhook(request)
        request.app.state.services.metrics.webhook(name, result, time.perf_counter() - started)
        return response

    async def _webhook(request: Request) -> tuple[JSONResponse, str]:
        channel = channels.get(name)
        if channel is None:
            return JSONResponse(
                {"detail": f"the {name} channel is not configured"}, status_code=404
            ), "404"
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"detail": "body too large"}, status_code=413), "413"
        if not channel.verify(request.headers, body):
            return JSONResponse(
                {"detail": "bad or missing secret/signature"}, status_code=401
            ), "401"
        try:
            items = channel.split(body)
        except BadUpdate as exc:
            return JSONResponse({"detail": f"not a {name} update: {exc}"}, status_code=400), "400"
        inbox: Inbox = request.app.state.inbox
        accepted = await run_in_threadpool(inbox.accept, name, items)
        result = "duplicate" if items and not accepted else "accepted"
        headers = {ACCEPTED_HEADER: str(accepted)}
        answers = [item.answer for item in items if item.answer]
        if len(answers) == 1:  # the platform makes this call for us (a redelivery too)
            return JSONResponse(answers[0], headers=headers), result
        return JSONResponse({"ok": True, "accepted": accepted}, headers=headers), result

    app.add_api_route(
        f"/webhooks/{name}",
        webhook,
        methods=["POST"],
        tags=["webhooks"],
        summary=f"{name.title()} webhook",
        responses={
            401: {"description": "bad or missing secret/signature"},
            400: {"description": "not an update"},
            404: {"description": "channel off"},
        },
    )


def add_metrics_route(app: FastAPI, services: Services) -> None:
    """`GET /metrics` in the Prometheus text format."""

    async def metrics() -> Response:
        await run_in_threadpool(services.metrics.read_queues, services.database)
        return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    )
