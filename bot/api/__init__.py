"""The admin API (`/api/v1`): bearer tokens, per-token rate limits, and the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from bot.api import campaigns, coupons, exports, members, purchases, stats, surveys
from bot.api.deps import ApiCaller, authenticate
from bot.api.errors import ApiError, ApiRoute, errors
from bot.api.ratelimit import Limiter, RateLimiter, limiter_for, retry_after_seconds
from bot.app import Settings

PREFIX = "/api/v1"


def build_api_router(settings: Settings, *, limiter: Limiter | None = None) -> APIRouter:
    """The admin API's router. Every route needs a valid bearer token and takes one token
    from the caller's bucket (LOYALTY_API_RATE_LIMIT per second, bursts of
    LOYALTY_API_RATE_BURST), else 401 or 429. The default bucket is this process's."""
    limiter = limiter or RateLimiter(settings.api_rate_limit, settings.api_rate_burst)

    def within_rate(caller: Annotated[ApiCaller, Depends(authenticate)]) -> None:
        wait = limiter.take(caller.limit_key)
        if wait:
            seconds = retry_after_seconds(wait)
            raise ApiError(
                429,
                "rate_limited",
                "too many requests; slow down",
                headers={"Retry-After": str(seconds)},
                retry_after=seconds,
            )

    router = APIRouter(
        prefix=PREFIX,
        route_class=ApiRoute,
        dependencies=[Depends(within_rate)],
        responses=errors(401, 429, 503),
    )
    # Exports first: /members/export.csv must win over /members/{number}.
    for module in (exports, members, purchases, coupons, surveys, stats, campaigns):
        router.include_router(module.router)
    return router


__all__ = ["PREFIX", "build_api_router", "limiter_for"]
