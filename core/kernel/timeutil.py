"""Local days and months in a member's or the programme's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.kernel.clock import as_utc


def zone(name: str | None, fallback: str = "Asia/Taipei") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return as_utc(at).astimezone(tz).date()


def start_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day begins."""
    return as_utc(datetime.combine(day, time(0), tzinfo=tz))


def add_months(at: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = at.month - 1 + months
    year, month = at.year + month_index // 12, month_index % 12 + 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def days_between(earlier: datetime, later: datetime) -> float:
    return (as_utc(later) - as_utc(earlier)) / timedelta(days=1)
