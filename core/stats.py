"""Funnel and KPI figures for admins, read from the incrementally kept aggregates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.models import CouponGrant, FunnelDaily, Member, Purchase
from core.programme import STAGES, Programme
from core.timeutil import local_day


class StageFigure(BaseModel):
    stage: str
    entered: int
    current: int
    conversion_from_previous: float | None


class Funnel(BaseModel):
    since: date | None
    stages: list[StageFigure]
    biggest_drop: str | None  # "interest→decision"
    new_members_by_channel: dict[str, int]


class Kpis(BaseModel):
    members: int
    active_7d: int
    active_30d: int
    purchases: int
    revenue: Decimal
    average_order_value: Decimal | None
    repeat_rate: float | None
    coupons_claimed: int
    coupons_redeemed: int
    redemption_rate: float | None


def funnel(
    session: Session, *, programme: Programme, now: datetime, days: int | None = None
) -> Funnel:
    """Members who entered each stage (all time, or in the last `days` local days), members
    now at each stage, and conversion between adjacent stages."""
    since = local_day(now, programme.zone) - timedelta(days=days - 1) if days else None
    query = select(
        FunnelDaily.stage, FunnelDaily.channel, sa.func.sum(FunnelDaily.entered)
    ).group_by(FunnelDaily.stage, FunnelDaily.channel)
    if since is not None:
        query = query.where(FunnelDaily.day >= since)
    entered = {stage: 0 for stage in STAGES}
    by_channel: dict[str, int] = {}
    for stage, channel, count in session.exec(query).all():
        entered[stage] += int(count or 0)
        if stage == "interest":
            by_channel[channel] = by_channel.get(channel, 0) + int(count or 0)
    totals = _all_time_entries(session) if since is not None else entered
    figures = []
    for index, stage in enumerate(STAGES):
        following = STAGES[index + 1] if index + 1 < len(STAGES) else None
        previous = entered[STAGES[index - 1]] if index else None
        figures.append(
            StageFigure(
                stage=stage,
                entered=entered[stage],
                # Every member who entered k+1 also entered k, so the difference is who is at k.
                current=totals[stage] - (totals[following] if following else 0),
                conversion_from_previous=(entered[stage] / previous) if previous else None,
            )
        )
    return Funnel(
        since=since,
        stages=figures,
        biggest_drop=_biggest_drop(figures),
        new_members_by_channel=dict(sorted(by_channel.items())),
    )


def _all_time_entries(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(FunnelDaily.stage, sa.func.sum(FunnelDaily.entered)).group_by(FunnelDaily.stage)
    ).all()
    totals = {stage: 0 for stage in STAGES}
    totals.update({stage: int(count or 0) for stage, count in rows})
    return totals


def _biggest_drop(figures: list[StageFigure]) -> str | None:
    drops = [
        (1 - f.conversion_from_previous, f"{STAGES[i - 1]}→{f.stage}")
        for i, f in enumerate(figures)
        if f.conversion_from_previous is not None
    ]
    return max(drops)[1] if drops else None


def kpis(session: Session, *, now: datetime, days: int = 30) -> Kpis:
    since = now - timedelta(days=days)
    members = _count(
        session,
        select(sa.func.count())
        .select_from(Member)
        .where(col(Member.consent_at).is_not(None), col(Member.erased_at).is_(None)),
    )
    active_7d = _count(
        session,
        select(sa.func.count())
        .select_from(Member)
        .where(col(Member.last_activity_at) >= now - timedelta(days=7)),
    )
    active_30d = _count(
        session,
        select(sa.func.count())
        .select_from(Member)
        .where(col(Member.last_activity_at) >= now - timedelta(days=30)),
    )
    purchases, revenue_cents = session.exec(
        select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Purchase.amount_cents - Purchase.refunded_cents), 0),
        ).where(col(Purchase.occurred_at) >= since)
    ).one()
    buyers = _count(
        session, select(sa.func.count()).select_from(Member).where(Member.purchase_count >= 1)
    )
    repeaters = _count(
        session, select(sa.func.count()).select_from(Member).where(Member.purchase_count >= 2)
    )
    claimed = _count(
        session,
        select(sa.func.count())
        .select_from(CouponGrant)
        .where(col(CouponGrant.claimed_at) >= since),
    )
    redeemed = _count(
        session,
        select(sa.func.count())
        .select_from(CouponGrant)
        .where(col(CouponGrant.claimed_at) >= since, col(CouponGrant.redeemed_at).is_not(None)),
    )
    revenue = Decimal(int(revenue_cents)) / 100
    return Kpis(
        members=members,
        active_7d=active_7d,
        active_30d=active_30d,
        purchases=int(purchases),
        revenue=revenue,
        average_order_value=(revenue / int(purchases)).quantize(Decimal("0.01"))
        if purchases
        else None,
        repeat_rate=repeaters / buyers if buyers else None,
        coupons_claimed=claimed,
        coupons_redeemed=redeemed,
        redemption_rate=redeemed / claimed if claimed else None,
    )


def _count(session: Session, query: sa.Select) -> int:  # type: ignore[type-arg]
    return int(session.exec(query).one())  # type: ignore[call-overload]
