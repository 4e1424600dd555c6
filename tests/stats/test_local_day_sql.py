"""The recomputation's SQL for local days and durations agrees with Python's zoneinfo, also
across daylight-saving changes and in zones with half-hour offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.kernel import local_day as python_local_day
from core.models import UTCDateTime
from core.stats.sql import as_date, days_between, epoch_microseconds, local_day

# Around New York's and Sydney's 2026 changes, and ordinary times.
TIMES = [
    datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 3, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 1, 4, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 13, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 2, 16, 0, tzinfo=UTC),
]


@pytest.mark.parametrize(
    "zone", ["Asia/Taipei", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
)
def test_local_days_in_sql_match_python(db, zone):
    tz = ZoneInfo(zone)
    with db.engine.connect() as connection:
        for at in TIMES:
            value = sa.literal(at, UTCDateTime())
            found = connection.execute(sa.select(local_day(value, tz, db.dialect))).scalar_one()
            assert as_date(found) == python_local_day(at, tz), at


def test_durations_in_sql_are_exact_to_the_microsecond(db):
    first = datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
    later = first + timedelta(days=30, microseconds=1)
    with db.engine.connect() as connection:
        values = [
            epoch_microseconds(sa.literal(at, UTCDateTime()), db.dialect) for at in (first, later)
        ]
        gap = connection.execute(sa.select(values[1] - values[0])).scalar_one()
        days = connection.execute(
            sa.select(
                days_between(
                    local_day(sa.literal(first, UTCDateTime()), ZoneInfo("UTC"), db.dialect),
                    local_day(sa.literal(later, UTCDateTime()), ZoneInfo("UTC"), db.dialect),
                    db.dialect,
                )
            )
        ).scalar_one()
    assert (gap, days) == (30 * 86_400_000_000 + 1, 30)
