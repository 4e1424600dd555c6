"""Automations tied to a date: the birthday gift, the member-day announcement, and the
warning before a tier review would drop a member."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from core.automations.audiences import (
    Batch,
    Context,
    Due,
    audience,
    batch_of,
    day,
    not_recently_sent,
    part,
    text,
    with_coupon,
)
from core.kernel import zone
from core.models import Member, QualifyingEntry
from core.programme import Promotion
from core.tiers import window_start


def birthday(ctx: Context, after_id: int, limit: int) -> Batch:
    """Birthday today in the member's own time zone: the tier's birthday points (credited by
    the effect, once a year) and a greeting. A 29 February birthday is kept on the 28th in
    other years. Members are due even when unreachable: the points are theirs anyway."""
    session, tiers = ctx.session, ctx.programme.tiers
    by_zone = _birthday_today(ctx)
    if not by_zone:
        return Batch([], None)
    rows = session.exec(
        select(Member.id, Member.tier, Member.timezone, Member.unreachable)
        .where(
            col(Member.id) > after_id,
            col(Member.erased_at).is_(None),
            col(Member.consent_at).is_not(None),
            not_recently_sent(ctx),
            sa.or_(*by_zone),
        )
        .order_by(col(Member.id))
        .limit(limit)
    ).all()
    dues = []
    for member_id, tier_code, zone_name, unreachable in rows:
        tier = tiers.by_code(tier_code)
        year = ctx.now.astimezone(_zone(zone_name, ctx)).year
        key = "automation.birthday_points" if tier.birthday_points else "automation.birthday"
        greeting = part(key, points=tier.birthday_points, tier=text(tier.name))
        due = Due(member_id or 0, str(year), [greeting], ["points"])
        due.facts["points"], due.send = tier.birthday_points, not unreachable
        dues.append(with_coupon(ctx, due))
    return batch_of(dues, [row[0] or 0 for row in rows])


def _birthday_today(ctx: Context) -> list[sa.ColumnElement[bool]]:
    """Per time zone members live in, "born on today's date there"."""
    zones = ctx.session.exec(
        select(Member.timezone).where(col(Member.birthday).is_not(None)).distinct()
    ).all()
    by_zone = []
    for zone_name in zones:
        local = ctx.now.astimezone(_zone(zone_name, ctx)).date()
        days = [local.day] + ([29] if _is_feb_28_of_common_year(local) else [])
        by_zone.append(
            sa.and_(
                col(Member.timezone) == zone_name,
                sa.extract("month", col(Member.birthday)) == local.month,
                sa.extract("day", col(Member.birthday)).in_(days),
            )
        )
    return by_zone


def member_day(ctx: Context, after_id: int, limit: int) -> Batch:
    """On a member day (the promotion with the automation's code, else any earn promotion
    on today's date), announce it in the morning. The double points are the promotion's
    own doing at earn time. Not announced once the evening's quiet hours have begun: it
    would be delivered when the day is over."""
    promotion = _todays_promotion(ctx)
    quiet = ctx.programme.quiet_hours
    local_time = ctx.now.astimezone(ctx.zone).time()
    if promotion is None or (quiet.start > quiet.end and local_time >= quiet.start):
        return Batch([], None)
    query = select(Member.id).where(*audience(ctx, promotional=True, after_id=after_id))
    if promotion.tiers:
        query = query.where(col(Member.tier).in_(promotion.tiers))
    rows = ctx.session.exec(query.order_by(col(Member.id)).limit(limit)).all()
    announce = part(
        "automation.member_day",
        promotion=text(promotion.name),
        multiplier=format(promotion.multiplier.normalize(), "f"),
    )
    dues = [
        with_coupon(ctx, Due(m or 0, ctx.today.isoformat(), [announce], ["points"])) for m in rows
    ]
    return batch_of(dues, [m or 0 for m in rows])


def tier_downgrade_warning(ctx: Context, after_id: int, limit: int) -> Batch:
    """Members whose tier review is within the warning period, who would drop, and were not
    warned this tier period (collect_tier_warnings' members): what keeps the tier, by when.
    The effect marks them warned, which the review requires before a downgrade."""
    programme = ctx.programme
    rows = _tiers_under_review(ctx, after_id=after_id, limit=limit)
    dues = []
    for member_id, tier_code, ends, qualifying, reachable in rows:
        tier = programme.tiers.by_code(tier_code)
        needed = tier.threshold - int(qualifying)
        if needed <= 0:
            continue  # keeps the tier: nothing to warn about
        spend = programme.tiers.basis == "spend"
        warning = part(
            "automation.tier_warning" if spend else "automation.tier_warning_growth",
            tier=text(tier.name),
            needed={"money": needed} if spend else needed,
            date=day(ends, ctx.zone),
        )
        due = Due(member_id or 0, ctx.local_date(ends).isoformat(), [warning], ["tier"])
        due.facts = {"tier": tier_code, "needed": needed}
        due.send = bool(reachable)
        dues.append(due)
    # Members who keep their tier are looked at but not due: the keyset still moves on.
    return batch_of(dues, [row[0] or 0 for row in rows])


def _tiers_under_review(
    ctx: Context, *, after_id: int, limit: int
) -> list[tuple[int, str, Any, int, bool]]:
    """Members (a batch) reviewed within the warning period and not warned this tier
    period, with their qualifying value and whether a message reaches them."""
    programme, now = ctx.programme, ctx.now
    horizon = now + timedelta(days=programme.tiers.review_warning_days)
    value = (
        select(QualifyingEntry.member_id, sa.func.sum(QualifyingEntry.amount).label("value"))
        .where(QualifyingEntry.created_at > window_start(now, programme))
        .group_by(col(QualifyingEntry.member_id))
        .subquery()
    )
    # SQLAlchemy's own select: SQLModel's typed one takes at most four columns.
    rows = ctx.session.execute(
        sa.select(
            col(Member.id),
            col(Member.tier),
            col(Member.tier_expires_at),
            sa.func.coalesce(value.c.value, 0),
            sa.and_(col(Member.consent_at).is_not(None), col(Member.unreachable).is_(False)),
        )
        .outerjoin(value, value.c.member_id == col(Member.id))
        .where(
            col(Member.id) > after_id,
            col(Member.tier_expires_at).is_not(None),
            col(Member.tier_expires_at) <= horizon,
            col(Member.erased_at).is_(None),
            sa.or_(
                col(Member.tier_warned_at).is_(None),
                col(Member.tier_warned_at) < col(Member.tier_since),
            ),
        )
        .order_by(col(Member.id))
        .limit(limit)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _todays_promotion(ctx: Context) -> Promotion | None:
    promotions = ctx.programme.promotions
    named = [p for p in promotions if p.code == ctx.automation.code]
    for promotion in named or promotions:
        if any(promotion.applies(ctx.today, tier.code) for tier in ctx.programme.tiers.levels):
            return promotion
    return None


def _is_feb_28_of_common_year(local: date) -> bool:
    return (local.month, local.day) == (2, 28) and (local + timedelta(days=1)).day == 1


def _zone(name: str, ctx: Context) -> ZoneInfo:
    return zone(name, ctx.programme.timezone)
