"""Key figures for admins, from the daily counters, the buyer cohorts and the member index.

Windows are programme-local days: the last `days` days, today included. Purchase figures
belong to the day a purchase occurred (its refunds too), coupon figures to the day a
coupon was claimed; see core.stats.counters for every counter.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import local_day
from core.models import BuyerCohort, Member, StatsDaily
from core.programme import Programme
from core.stats.campaigns import CampaignFigure, best_campaigns
from core.stats.nps import NpsScore

RETENTION_WINDOWS = (30, 90)
CENT = Decimal("0.01")


class Kpis(BaseModel):
    members: int
    active_7d: int
    active_30d: int
    purchases: int
    revenue: Decimal
    """Purchase amounts less what was refunded of them."""
    average_order_value: Decimal | None
    repeat_rate: float | None
    """All time: buyers with two or more purchases, of all buyers."""
    coupons_claimed: int
    coupons_redeemed: int
    """Of the coupons claimed in the window, those redeemed (at any time since)."""
    redemption_rate: float | None
    since: date | None = None
    """The window's first local day."""
    new_buyers: int = 0
    """Members whose first purchase occurred in the window."""
    refunds: int = 0
    refunded: Decimal = Decimal(0)
    buyers: int = 0
    repeat_buyers: int = 0
    retention_30d: float | None = None
    """Of buyers whose first purchase was at least 31 local days ago, the share who bought
    again within 30 days (30 × 24 h) of that first purchase."""
    retention_30d_buyers: int = 0
    retention_90d: float | None = None
    """As retention_30d, with 90 days (first purchase at least 91 local days ago)."""
    retention_90d_buyers: int = 0
    nps: float | None = None
    """% promoters − % detractors of the NPS answers given in the window."""
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    surveys_completed: int = 0
    checkins: int = 0
    best_campaigns: list[CampaignFigure] = []
    """Campaigns launched in the window, best redemption rate first."""
    empty: bool = False
    """Nobody ever signed up and nothing was ever bought: there is nothing to show yet."""


def kpis(
    session: Session, *, now: datetime, days: int = 30, programme: Programme | None = None
) -> Kpis:
    """Members, activity, purchases, coupons, NPS, retention and the best campaigns over the
    last `days` local days of the programme's zone (the built-in default if not given)."""
    programme = programme or Programme()
    today = local_day(now, programme.zone)
    since = today - timedelta(days=days - 1)
    window = _daily(session, since=since)
    ever = _daily(session, metrics=("signups", "erasures"))
    cohorts = _buyer_cohorts(session, today=today, since=since)
    return Kpis(
        members=ever.get("signups", 0) - ever.get("erasures", 0),
        **_active(session, now),
        since=since,
        best_campaigns=best_campaigns(session, programme=programme, since=since),
        empty=ever.get("signups", 0) == 0 and cohorts["buyers"] == 0,
        **_sales(window, cohorts),
        **_coupons(window),
        **_activity(window),
    )


def _sales(window: dict[str, int], cohorts: dict[str, int]) -> dict[str, Any]:
    purchases = window.get("purchases", 0)
    revenue = Decimal(window.get("revenue_cents", 0) - window.get("refunded_cents", 0)) / 100
    return {
        "purchases": purchases,
        "revenue": revenue,
        "average_order_value": (revenue / purchases).quantize(CENT) if purchases else None,
        "refunds": window.get("refunds", 0),
        "refunded": Decimal(window.get("refunded_cents", 0)) / 100,
        "new_buyers": cohorts["new_buyers"],
        "buyers": cohorts["buyers"],
        "repeat_buyers": cohorts["repeaters"],
        "repeat_rate": _share(cohorts["repeaters"], cohorts["buyers"]),
        "retention_30d": _share(cohorts["repeat_30d"], cohorts["base_30d"]),
        "retention_30d_buyers": cohorts["base_30d"],
        "retention_90d": _share(cohorts["repeat_90d"], cohorts["base_90d"]),
        "retention_90d_buyers": cohorts["base_90d"],
    }


def _coupons(window: dict[str, int]) -> dict[str, Any]:
    claimed, redeemed = window.get("coupons_claimed", 0), window.get("coupons_redeemed", 0)
    return {
        "coupons_claimed": claimed,
        "coupons_redeemed": redeemed,
        "redemption_rate": _share(redeemed, claimed),
    }


def _activity(window: dict[str, int]) -> dict[str, Any]:
    nps = _nps(window)
    return {
        "nps": nps.score if nps else None,
        "nps_promoters": nps.promoters if nps else 0,
        "nps_passives": nps.passives if nps else 0,
        "nps_detractors": nps.detractors if nps else 0,
        "surveys_completed": window.get("surveys_completed", 0),
        "checkins": window.get("checkins", 0),
    }


def _daily(
    session: Session, *, since: date | None = None, metrics: tuple[str, ...] = ()
) -> dict[str, int]:
    query = select(StatsDaily.metric, sa.func.sum(StatsDaily.value)).group_by(StatsDaily.metric)
    if since is not None:
        query = query.where(StatsDaily.day >= since)
    if metrics:
        query = query.where(col(StatsDaily.metric).in_(metrics))
    return {metric: int(value or 0) for metric, value in session.exec(query).all()}


def _buyer_cohorts(session: Session, *, today: date, since: date) -> dict[str, int]:
    """All-time buyers and repeaters, the window's new buyers, and per retention window the
    buyers whose window is over (`base_…`) and those who bought again in it."""
    table = BuyerCohort
    total = sa.func.coalesce
    columns = [
        total(sa.func.sum(table.buyers), 0),
        total(sa.func.sum(table.repeaters), 0),
        total(sa.func.sum(sa.case((col(table.first_day) >= since, table.buyers), else_=0)), 0),
    ]
    for days in RETENTION_WINDOWS:
        over = col(table.first_day) <= today - timedelta(days=days + 1)
        repeat = getattr(table, f"repeat_{days}d")
        columns.append(total(sa.func.sum(sa.case((over, table.buyers), else_=0)), 0))
        columns.append(total(sa.func.sum(sa.case((over, repeat), else_=0)), 0))
    row = session.execute(sa.select(*columns)).one()
    names = ["buyers", "repeaters", "new_buyers"]
    for days in RETENTION_WINDOWS:
        names += [f"base_{days}d", f"repeat_{days}d"]
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def _active(session: Session, now: datetime) -> dict[str, int]:
    """Members active in the last 7 and 30 days: one range scan of the last-activity index
    (member rows, not the event log)."""
    last = col(Member.last_activity_at)
    week = sa.func.coalesce(sa.func.sum(sa.case((last >= now - timedelta(days=7), 1), else_=0)), 0)
    query = sa.select(week, sa.func.count()).where(last >= now - timedelta(days=30))
    active_7d, active_30d = session.execute(query).one()
    return {"active_7d": int(active_7d), "active_30d": int(active_30d)}


def _nps(window: dict[str, int]) -> NpsScore | None:
    promoters, passives, detractors = (
        window.get(f"nps_{group}", 0) for group in ("promoters", "passives", "detractors")
    )
    answered = promoters + passives + detractors
    if not answered:
        return None
    return NpsScore(
        score=100 * (promoters - detractors) / answered,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
