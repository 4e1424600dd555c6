"""This month's LINE message quota, read on demand for a broadcast preview.

The dialogs run in worker threads and cannot reach the web app's own LINE client (its
aiohttp session belongs to the app's event loop), so the preview reads the quota with a
short-lived client of its own, from the channel factory, with a short time limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.app import Settings, quota_channels

if TYPE_CHECKING:
    from adapters.line import LineChannel

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


def read_message_quotas(
    settings: Settings, *, timeout: float = TIMEOUT_SECONDS
) -> dict[str, LineQuota | None]:
    """This month's message quota of every channel that counts one and is on (LINE), by
    channel name; None where it could not be read in time (the preview then says so and
    still stands). Blocks the calling thread: never call it on an event loop's own
    thread — there every quota is None at once."""
    channels = quota_channels(settings, timeout=timeout)
    if not channels:
        return {}
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return dict.fromkeys(channels, None)
    return asyncio.run(_read_all(channels, timeout))


def read_line_quota(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> LineQuota | None:
    """LINE's quota (the only channel that counts one), or None when LINE is off or its
    quota could not be read in time; see `read_message_quotas`."""
    return next(iter(read_message_quotas(settings, timeout=timeout).values()), None)


async def _read_all(
    channels: Mapping[str, LineChannel], timeout: float
) -> dict[str, LineQuota | None]:
    names = list(channels)
    quotas = await asyncio.gather(*(_read(channels[name], timeout) for name in names))
    return dict(zip(names, quotas, strict=True))


async def _read(channel: LineChannel, timeout: float) -> LineQuota | None:
    try:
        await channel.start()
        try:
            limit, used = await asyncio.wait_for(channel.message_quota(), timeout)
        finally:
            await channel.close()
    except Exception as exc:  # the platform said no, or did not answer: the preview goes on
        log.warning("reading the %s message quota failed: %s", channel.name, exc)
        return None
    return LineQuota(limit=limit, used=used)
