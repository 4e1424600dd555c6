"""Moments in Taipei, for tests that reason in the brand's local days."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """`day` (YYYY-MM-DD) at hour:minute in Taipei."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TAIPEI)
