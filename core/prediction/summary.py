"""Purchase records turned into the (x, t_x, T, m) summary the BG/NBD and Gamma-Gamma use.

Conventions are those of Fader, Hardie & Lee (2005): a transaction is a distinct local
purchase day (purchases on one calendar day are one transaction, their amounts summed);
the first purchase day is the trial and is not counted, so x is the number of *repeat*
purchase days; t_x (recency) and T (age) run from the first purchase day to the last
purchase day and to the as-of day; m is the mean daily total over the repeat days only.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from core.kernel import as_utc, local_day, zone

TimeUnit = Literal["day", "week"]
UNIT_DAYS: dict[str, int] = {"day": 1, "week": 7}

# The models are scale-free in time (r, a, b do not depend on the unit and alpha scales
# with it), so the unit only changes how alpha reads and how coarse the day grid looks.
# Weeks once the median member has been around for more than 8 weeks: then a week is a
# small step relative to a customer's age, and alpha lands in the range the papers use.
WEEK_THRESHOLD_DAYS = 56

Amount = float | int | Decimal
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PurchaseSummary:
    """One row per member who had bought by the as-of day; times are in `unit`.

    `m` (mean repeat-day total) is NaN when x == 0; `total` is everything the member spent
    up to the as-of time, first day included.
    """

    ids: tuple[Hashable, ...]
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    m: FloatArray
    total: FloatArray
    unit: TimeUnit
    as_of_day: date

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def unit_days(self) -> int:
        return UNIT_DAYS[self.unit]

    @property
    def recency(self) -> FloatArray:
        """Time since the last purchase day, in `unit` (T − t_x)."""
        return self.T - self.t_x

    @property
    def purchase_days(self) -> FloatArray:
        """Distinct purchase days, the first one included (x + 1)."""
        return self.x + 1

    @property
    def repeaters(self) -> NDArray[np.bool_]:
        """The members the Gamma-Gamma model is fitted on: x ≥ 1 and a positive m."""
        return (self.x >= 1) & np.isfinite(self.m) & (self.m > 0)


def choose_time_unit(age_days: Iterable[float]) -> TimeUnit:
    """ "week" when the median age (days since first purchase) exceeds 8 weeks, else "day"."""
    ages = np.asarray(list(age_days), dtype=float)
    if ages.size and float(np.median(ages)) > WEEK_THRESHOLD_DAYS:
        return "week"
    return "day"


def summarise(
    purchases_by_member: Mapping[Hashable, Iterable[tuple[datetime, Amount]]]
    | Iterable[tuple[Hashable, Iterable[tuple[datetime, Amount]]]],
    *,
    as_of: datetime,
    tz: ZoneInfo | str,
    unit: TimeUnit | None = None,
) -> PurchaseSummary:
    """Summarise each member's purchases up to `as_of`, with days taken in time zone `tz`.

    Purchases after `as_of` are ignored and members with none by then are left out. With
    `unit=None` the unit is picked by `choose_time_unit`. Members keep the mapping's order.
    Instead of a mapping, (member, purchases) pairs may be given, e.g. streamed from the
    database one member at a time, so a large programme is never held in memory at once.
    """
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    cutoff = as_utc(as_of)
    as_of_day = local_day(cutoff, tzinfo)
    ids: list[Hashable] = []
    rows: list[tuple[int, int, int, float, float]] = []
    pairs = (
        purchases_by_member.items()
        if isinstance(purchases_by_member, Mapping)
        else purchases_by_member
    )
    for member, purchases in pairs:
        daily = _daily_totals(purchases, cutoff, tzinfo)
        if not daily:
            continue
        days = sorted(daily)
        first, last = days[0], days[-1]
        repeat_total = sum(daily[day] for day in days[1:])
        ids.append(member)
        rows.append(
            (
                len(days) - 1,
                (last - first).days,
                (as_of_day - first).days,
                repeat_total,
                repeat_total + daily[first],
            )
        )
    table = np.array(rows, dtype=float).reshape(-1, 5)
    x, t_x_days, age_days, repeat_totals, totals = table.T
    chosen: TimeUnit = unit or choose_time_unit(age_days)
    if chosen not in UNIT_DAYS:
        raise ValueError(f"unknown time unit {chosen!r}; use 'day' or 'week'")
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(x >= 1, repeat_totals / np.maximum(x, 1), np.nan)
    scale = float(UNIT_DAYS[chosen])
    return PurchaseSummary(
        ids=tuple(ids),
        x=x.copy(),
        t_x=t_x_days / scale,
        T=age_days / scale,
        m=m,
        total=totals.copy(),
        unit=chosen,
        as_of_day=as_of_day,
    )


def _daily_totals(
    purchases: Iterable[tuple[datetime, Amount]], cutoff: datetime, tz: ZoneInfo
) -> dict[date, float]:
    daily: dict[date, float] = {}
    for at, amount in purchases:
        if as_utc(at) > cutoff:
            continue
        day = local_day(at, tz)
        daily[day] = daily.get(day, 0.0) + float(amount)
    return daily
