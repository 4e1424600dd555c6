"""The web app: health and readiness now; webhooks and the admin API join it as they land."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.bootstrap import Services


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(title="Loyalty", version="0.1.0", lifespan=lifespan)
    app.state.services = services

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

    return app
