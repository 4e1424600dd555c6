"""The default automations of DESIGN §4, one rule per kind: who is due (a batch at a time)
and what they are told. Period keys are documented in core.automation_audiences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from core.automation_audiences import (
    NUDGE_WINDOW,
    PURCHASE_CATCH_UP_DAYS,
    RECENT_SIGNUP,
    Context,
    Due,
    audience,
    completed_survey,
    day,
    day_bucket,
    expiring_grants,
    not_recently_sent,
    part,
    signed_up_between,
    text,
)
from core.models import Member, QualifyingEntry
from core.programme import Promotion
from core.tiers import window_start
from core.timeutil import zone

Select = Callable[[Context, int, int], "Batch"]


@dataclass
class Batch:
    dues: list[Due]
    last_id: int | None
    """The last member the batch looked at (the keyset for the next); None: no more."""


def _batch(dues: list[Due], member_ids: list[int]) -> Batch:
    return Batch(dues, max(member_ids) if member_ids else None)


@dataclass(frozen=True)
class Rule:
    select: Select
    promotional: bool
    """Promotions skip opted-out members and count toward the frequency cap; the others
    are service messages about the member's own points, coupons and tier."""


def _with_coupon(ctx: Context, due: Due) -> Due:
    due.coupon = ctx.automation.coupon
    return due


def _coupon_params(ctx: Context) -> dict[str, object]:
    coupon = ctx.programme.coupon(ctx.automation.coupon or "")
    return {"coupon": text(coupon.title)} if coupon else {}


def welcome(ctx: Context, after_id: int, limit: int) -> Batch:
    """Signed up in the last two days (at least delay_days ago): welcome, with the coupon."""
    delay = timedelta(days=ctx.automation.delay_days)
    rows = signed_up_between(
        ctx,
        after_id=after_id,
        limit=limit,
        earliest=ctx.now - delay - RECENT_SIGNUP,
        latest=ctx.now - delay,
        stage="any",
    )
    key = "automation.welcome_coupon" if ctx.automation.coupon else "automation.welcome"
    dues = [
        _with_coupon(
            ctx,
            Due(member_id, ctx.local_date(entered).isoformat(), [part(key, **_coupon_params(ctx))]),
        )
        for member_id, entered in rows
    ]
    return _batch(dues, [member_id for member_id, _ in rows])


def interest_nudge(ctx: Context, after_id: int, limit: int) -> Batch:
    """Signed up delay_days ago or more (within 30 days after that) and still in `interest`:
    nothing claimed, nothing bought."""
    delay = timedelta(days=ctx.automation.delay_days)
    rows = signed_up_between(
        ctx,
        after_id=after_id,
        limit=limit,
        earliest=ctx.now - delay - NUDGE_WINDOW,
        latest=ctx.now - delay,
        stage="interest",
    )
    key = "automation.nudge_coupon" if ctx.automation.coupon else "automation.nudge"
    dues = [
        _with_coupon(
            ctx,
            Due(member_id, ctx.local_date(entered).isoformat(), [part(key, **_coupon_params(ctx))]),
        )
        for member_id, entered in rows
    ]
    return _batch(dues, [member_id for member_id, _ in rows])


def coupon_expiry_reminder(ctx: Context, after_id: int, limit: int) -> Batch:
    """Active coupons expiring within delay_days and not yet reminded: one message a member
    names the first to expire and counts the others; each coupon is reminded once."""
    within = timedelta(days=max(ctx.automation.delay_days, 1))
    grouped = expiring_grants(ctx, after_id=after_id, limit=limit, within=within, promotional=False)
    dues = []
    for member_id, grants in grouped.items():
        first, definition = grants[0]
        parts = [
            part(
                "automation.coupon_expiry",
                title=text(definition.title),
                code=first.code,
                date=day(first.expires_at or ctx.now, ctx.zone),
            )
        ]
        if len(grants) > 1:
            parts.append(part("automation.coupon_expiry_more", count=len(grants) - 1))
        due = Due(member_id, ctx.today.isoformat(), parts, ["coupons"])
        due.facts["grants"] = [grant.id or 0 for grant, _ in grants]
        dues.append(due)
    return _batch(dues, list(grouped))


def post_purchase(ctx: Context, after_id: int, limit: int) -> Batch:
    """A purchase delay_days ago (or up to two days before, if runs were missed): thanks,
    and the survey to answer unless the member already did."""
    last_day = ctx.today - timedelta(days=ctx.automation.delay_days)
    first_day = last_day - timedelta(days=PURCHASE_CATCH_UP_DAYS)
    rows = ctx.session.exec(
        select(Member.id, Member.last_purchase_at)
        .where(
            *audience(ctx, promotional=True, after_id=after_id),
            col(Member.last_purchase_at) >= ctx.day_start(first_day),
            col(Member.last_purchase_at) < ctx.day_start(last_day + timedelta(days=1)),
        )
        .order_by(col(Member.id))
        .limit(limit)
    ).all()
    survey = ctx.automation.survey
    answered = completed_survey(ctx, [m or 0 for m, _ in rows], survey) if survey else set()
    dues = []
    for member_id, bought in rows:
        due = Due(member_id or 0, ctx.local_date(bought).isoformat(), [part("automation.thanks")])
        if survey and member_id not in answered:
            due.parts.append(part("automation.thanks_survey"))
            due.commands.append("survey")
        dues.append(_with_coupon(ctx, due))
    return _batch(dues, [m or 0 for m, _ in rows])


def birthday(ctx: Context, after_id: int, limit: int) -> Batch:
    """Birthday today in the member's own time zone: the tier's birthday points (credited by
    the effect, once a year) and a greeting. A 29 February birthday is kept on the 28th in
    other years. Members are due even when unreachable: the points are theirs anyway."""
    session, tiers = ctx.session, ctx.programme.tiers
    zones = session.exec(
        select(Member.timezone).where(col(Member.birthday).is_not(None)).distinct()
    ).all()
    by_zone = []
    for zone_name in zones:
        local = ctx.now.astimezone(_zone(zone_name, ctx)).date()
        days = [local.day] + ([29] if _is_feb_28_of_common_year(local) else [])
        by_zone.append(
            sa.and_(
                Member.timezone == zone_name,
                sa.extract("month", col(Member.birthday)) == local.month,
                sa.extract("day", col(Member.birthday)).in_(days),
            )
        )
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
        dues.append(_with_coupon(ctx, due))
    return _batch(dues, [row[0] or 0 for row in rows])


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
        _with_coupon(ctx, Due(m or 0, ctx.today.isoformat(), [announce], ["points"])) for m in rows
    ]
    return _batch(dues, [m or 0 for m in rows])


def win_back(ctx: Context, after_id: int, limit: int) -> Batch:
    """Members at risk (no purchase for the programme's at_risk_days): we miss you, with
    the come-back coupon; again each period_days while they stay at risk."""
    rows = ctx.session.exec(
        select(Member.id)
        .where(*audience(ctx, promotional=True, after_id=after_id), Member.risk == "at_risk")
        .order_by(col(Member.id))
        .limit(limit)
    ).all()
    key = day_bucket(ctx.today, ctx.automation.period_days)
    message = "automation.win_back_coupon" if ctx.automation.coupon else "automation.win_back"
    dues = [
        _with_coupon(ctx, Due(m or 0, key, [part(message, **_coupon_params(ctx))])) for m in rows
    ]
    return _batch(dues, [m or 0 for m in rows])


def tier_downgrade_warning(ctx: Context, after_id: int, limit: int) -> Batch:
    """Members whose tier review is within the warning period, who would drop, and were not
    warned this tier period (collect_tier_warnings' members): what keeps the tier, by when.
    The effect marks them warned, which the review requires before a downgrade."""
    programme, now = ctx.programme, ctx.now
    horizon = now + timedelta(days=programme.tiers.review_warning_days)
    value = (
        select(QualifyingEntry.member_id, sa.func.sum(QualifyingEntry.amount).label("value"))
        .where(QualifyingEntry.created_at > window_start(now, programme))
        .group_by(col(QualifyingEntry.member_id))
        .subquery()
    )
    rows = ctx.session.exec(
        select(
            Member.id,
            Member.tier,
            Member.tier_expires_at,
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
        due = Due(member_id or 0, ctx.local_date(ends).isoformat(), [warning])
        due.commands.append("tier")
        due.facts = {"tier": tier_code, "needed": needed}
        due.send = bool(reachable)
        dues.append(due)
    # Members who keep their tier are looked at but not due: the keyset still moves on.
    return _batch(dues, [row[0] or 0 for row in rows])


RULES: dict[str, Rule] = {
    "welcome": Rule(welcome, promotional=True),
    "interest_nudge": Rule(interest_nudge, promotional=True),
    "coupon_expiry_reminder": Rule(coupon_expiry_reminder, promotional=False),
    "post_purchase": Rule(post_purchase, promotional=True),
    "birthday": Rule(birthday, promotional=False),
    "member_day": Rule(member_day, promotional=True),
    "win_back": Rule(win_back, promotional=True),
    "tier_downgrade_warning": Rule(tier_downgrade_warning, promotional=False),
}


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
