"""This month's LINE message quota, read on demand for a broadcast preview.

The dialogs run in worker threads and cannot reach the web app's own LINE client (its
aiohttp session belongs to the app's event loop), so the preview reads the quota with a
short-lived client of its own, built from the settings, with a short time limit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.app import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class LineQuota:
    """`limit` is None when the account has no monthly limit; `used` counts pushes and
    multicasts this month (replies are free)."""

    limit: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


def read_line_quota(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> LineQuota | None:
    """The quota, or None when LINE is off or it could not be read in time (the preview
    then says so and still stands). Blocks the calling thread: never call it on an event
    loop's own thread — there it answers None at once."""
    if not settings.line_enabled:
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return None
    try:
        limit, used = asyncio.run(_read(settings, timeout))
    except Exception as exc:  # the platform said no, or did not answer: the preview goes on
        log.warning("reading LINE's message quota failed: %s", exc)
        return None
    return LineQuota(limit=limit, used=used)


async def _read(settings: Settings, timeout: float) -> tuple[int | None, int]:
    from adapters.line import LineChannel

    assert settings.line_channel_secret and settings.line_channel_access_token
    channel = LineChannel(
        channel_secret=settings.line_channel_secret.get_secret_value(),
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_url=settings.line_api_url,
        request_timeout=timeout,
        attempts=1,
    )
    await channel.start()
    try:
        return await asyncio.wait_for(channel.message_quota(), timeout)
    finally:
        await channel.close()
