"""SQL expressions that read alike on SQLite and PostgreSQL: the programme-local day of a
stored UTC time, exact microseconds since the epoch, and whole days between two days.

Times are stored as naive UTC (SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' text). A local day is
the UTC time shifted by the zone's offset; offsets that change (daylight saving) are
handled with one CASE branch per period between changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from core.models import UTCDateTime

# Offset changes are looked for in this range; times outside it use its first or last offset.
SPAN = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
_STEP = timedelta(days=1)
_PRECISION = timedelta(seconds=1)

Expression = sa.ColumnElement[Any]


def local_day(column: Expression, tz: ZoneInfo, dialect: str) -> Expression:
    """The local day of a stored UTC time, as a date (PostgreSQL) or ISO text (SQLite)."""
    periods = offset_periods(tz)
    first_offset = periods[0][1]
    if len(periods) == 1:
        return _shifted_day(column, first_offset, dialect)
    branches = [
        (column < sa.literal(starts, UTCDateTime()), _shifted_day(column, offset, dialect))
        for (_, offset), (starts, _) in zip(periods, periods[1:], strict=False)
    ]
    return sa.case(*branches, else_=_shifted_day(column, periods[-1][1], dialect))


def epoch_microseconds(column: Expression, dialect: str) -> Expression:
    """Exact microseconds since 1970 of a stored UTC time, for comparing durations."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", column) * 1_000_000, sa.BigInteger)
    seconds = sa.cast(sa.func.strftime("%s", column), sa.BigInteger)
    # Characters 21–26 are the microseconds; absent (a time written without them) reads 0.
    micro = sa.cast(sa.func.substr(column, 21, 6), sa.BigInteger)
    return seconds * 1_000_000 + micro


def days_between(earlier: Expression, later: Expression, dialect: str) -> Expression:
    """Whole days from one local day to another (both from `local_day`)."""
    if dialect == "postgresql":
        return sa.cast(later - earlier, sa.Integer)
    return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)


def as_date(value: Any) -> date:
    """A local day read back from `local_day`: a date on PostgreSQL, text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@lru_cache(maxsize=16)
def offset_periods(tz: ZoneInfo) -> tuple[tuple[datetime, int], ...]:
    """(UTC start, offset in minutes) of each period of one offset within SPAN."""
    start, end = SPAN
    periods = [(start, _offset(tz, start))]
    at = start
    while at < end:
        following = at + _STEP
        if _offset(tz, following) != periods[-1][1]:
            change = _first_change(tz, at, following)
            periods.append((change, _offset(tz, change)))
        at = following
    return tuple(periods)


def _first_change(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    offset = _offset(tz, before)
    while after - before > _PRECISION:
        middle = before + (after - before) / 2
        if _offset(tz, middle) == offset:
            before = middle
        else:
            after = middle
    return after.replace(microsecond=0)


def _offset(tz: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(tz).utcoffset() or timedelta(0)
    return int(delta.total_seconds() // 60)


def _shifted_day(column: Expression, minutes: int, dialect: str) -> Expression:
    if dialect == "postgresql":
        shift: Expression = sa.literal_column(f"INTERVAL '{int(minutes)} minutes'")
        return sa.cast(column + shift, sa.Date)
    return sa.func.date(column, f"{int(minutes):+d} minutes")
