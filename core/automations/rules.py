"""The default automations of DESIGN §4, one rule per kind: who is due (a batch at a time)
and what they are told. Period keys are documented in core.automations.audiences; the
birthday, member day and tier warning live in core.automations.occasions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from core.automations.audiences import (
    NUDGE_WINDOW,
    PURCHASE_CATCH_UP_DAYS,
    RECENT_SIGNUP,
    Batch,
    Context,
    Due,
    audience,
    batch_of,
    completed_survey,
    coupon_params,
    day,
    day_bucket,
    expiring_grants,
    part,
    signed_up_between,
    text,
    with_coupon,
)
from core.automations.occasions import birthday, member_day, tier_downgrade_warning
from core.models import Member

Select = Callable[[Context, int, int], Batch]


@dataclass(frozen=True)
class Rule:
    select: Select
    promotional: bool
    """Promotions skip opted-out members and count toward the frequency cap; the others
    are service messages about the member's own points, coupons and tier."""


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
        with_coupon(
            ctx,
            Due(member_id, ctx.local_date(entered).isoformat(), [part(key, **coupon_params(ctx))]),
        )
        for member_id, entered in rows
    ]
    return batch_of(dues, [member_id for member_id, _ in rows])


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
        with_coupon(
            ctx,
            Due(member_id, ctx.local_date(entered).isoformat(), [part(key, **coupon_params(ctx))]),
        )
        for member_id, entered in rows
    ]
    return batch_of(dues, [member_id for member_id, _ in rows])


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
    return batch_of(dues, list(grouped))


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
        due = Due(
            member_id or 0,
            ctx.local_date(bought or ctx.now).isoformat(),
            [part("automation.thanks")],
        )
        if survey and member_id not in answered:
            due.parts.append(part("automation.thanks_survey"))
            due.commands.append("survey")
        dues.append(with_coupon(ctx, due))
    return batch_of(dues, [m or 0 for m, _ in rows])


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
    dues = [with_coupon(ctx, Due(m or 0, key, [part(message, **coupon_params(ctx))])) for m in rows]
    return batch_of(dues, [m or 0 for m in rows])


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
