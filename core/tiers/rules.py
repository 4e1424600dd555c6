"""Tiers: qualifying value over a rolling window, instant upgrades, reviews with a warning first."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.funnel import log_event
from core.kernel import Clock, add_months, run_once
from core.models import Member, QualifyingEntry, TierChange
from core.points import lock_member
from core.programme import Programme


class TierProgress(BaseModel):
    tier: str
    value: int
    next_tier: str | None
    needed_for_next: int
    expires_at: datetime | None
    needed_to_keep: int


class TierReviewResult(BaseModel):
    reviewed: int
    kept: int
    downgraded: dict[int, str]
    postponed_for_warning: list[int]


class TierWarning(BaseModel):
    member_id: int
    tier: str
    expires_at: datetime
    needed_to_keep: int


def window_start(now: datetime, programme: Programme) -> datetime:
    return add_months(now, -programme.tiers.window_months)


def qualifying_value(
    session: Session, *, member_id: int, now: datetime, programme: Programme
) -> int:
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(QualifyingEntry.amount), 0)).where(
            QualifyingEntry.member_id == member_id,
            QualifyingEntry.created_at > window_start(now, programme),
        )
    ).one()
    return int(total)


def note_qualifying(
    session: Session,
    *,
    member: Member,
    amount: int,
    source: str,
    now: datetime,
    programme: Programme,
    channel: str,
    counted_at: datetime | None = None,
) -> str | None:
    """Count `amount` toward the member's tier (spend always; activity when the basis is
    growth) and upgrade at once if a threshold is crossed. Returns the new tier, if any.

    `counted_at` dates the value in the rolling window (a purchase's own time, also for
    its refunds, so an imported old sale or a late refund falls in the purchase's window)."""
    if amount == 0 or (source != "purchase" and programme.tiers.basis != "growth"):
        return None
    session.add(
        QualifyingEntry(
            member_id=member.id or 0, amount=amount, source=source, created_at=counted_at or now
        )
    )
    session.flush()
    if amount < 0:
        return None  # refunds lower the value; only a review downgrades
    return upgrade_if_reached(session, member=member, now=now, programme=programme, channel=channel)


def upgrade_if_reached(
    session: Session, *, member: Member, now: datetime, programme: Programme, channel: str
) -> str | None:
    tiers = programme.tiers
    value = qualifying_value(session, member_id=member.id or 0, now=now, programme=programme)
    reached = tiers.for_value(value)
    if tiers.rank(reached.code) <= tiers.rank(member.tier):
        return None
    _change_tier(
        session,
        member=member,
        to=reached.code,
        reason="upgrade",
        now=now,
        programme=programme,
        channel=channel,
    )
    return reached.code


def tier_progress(
    session: Session, *, member: Member, now: datetime, programme: Programme
) -> TierProgress:
    """Where the member stands: value in the window, what the next tier needs, what keeps this."""
    tiers = programme.tiers
    value = qualifying_value(session, member_id=member.id or 0, now=now, programme=programme)
    following = tiers.next_after(member.tier)
    current = tiers.by_code(member.tier)
    return TierProgress(
        tier=member.tier,
        value=value,
        next_tier=following.code if following else None,
        needed_for_next=max(0, following.threshold - value) if following else 0,
        expires_at=member.tier_expires_at,
        needed_to_keep=max(0, current.threshold - value),
    )


def collect_tier_warnings(
    session: Session, *, clock: Clock, programme: Programme, limit: int = 1000
) -> list[TierWarning]:
    """Members whose tier review is within the warning period and who would drop: marks each
    as warned (once per tier period) and returns what to tell them."""
    now = clock.now()
    horizon = now + timedelta(days=programme.tiers.review_warning_days)

    def work() -> _Warnings:
        members = session.exec(
            select(Member)
            .where(
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
            .with_for_update(skip_locked=True)
        ).all()
        warnings = []
        for member in members:
            progress = tier_progress(session, member=member, now=now, programme=programme)
            if progress.needed_to_keep <= 0:
                continue
            member.tier_warned_at = now
            log_event(
                session,
                member=member,
                channel="system",
                type="tier_warning",
                now=now,
                payload={"tier": member.tier, "needed": progress.needed_to_keep},
            )
            warnings.append(
                TierWarning(
                    member_id=member.id or 0,
                    tier=member.tier,
                    expires_at=member.tier_expires_at or now,
                    needed_to_keep=progress.needed_to_keep,
                )
            )
        return _Warnings(items=warnings)

    return run_once(
        session,
        key=None,
        operation="tier_warnings",
        request={},
        result_type=_Warnings,
        now=now,
        work=work,
    ).items


class _Warnings(BaseModel):
    items: list[TierWarning]


def review_tiers(
    session: Session, *, clock: Clock, programme: Programme, limit: int = 1000
) -> TierReviewResult:
    """The periodic review: members whose tier period ended keep the tier they still qualify
    for, or drop to it. Nobody drops without a warning first: an unwarned member is warned
    by `collect_tier_warnings` and reviewed again after the warning period."""
    now = clock.now()
    tiers = programme.tiers

    def work() -> TierReviewResult:
        due = session.exec(
            select(Member.id)
            .where(col(Member.tier_expires_at) <= now, col(Member.erased_at).is_(None))
            .order_by(col(Member.id))
            .limit(limit)
        ).all()
        result = TierReviewResult(reviewed=0, kept=0, downgraded={}, postponed_for_warning=[])
        for member_id in due:
            member = lock_member(session, member_id or 0)
            result.reviewed += 1
            value = qualifying_value(
                session, member_id=member.id or 0, now=now, programme=programme
            )
            qualified = tiers.for_value(value)
            if tiers.rank(qualified.code) >= tiers.rank(member.tier):
                member.tier_expires_at = add_months(now, tiers.window_months)
                # A new tier period: its own review needs its own warning.
                member.tier_warned_at = None
                result.kept += 1
                continue
            warned = member.tier_warned_at is not None and (
                member.tier_since is None or member.tier_warned_at >= member.tier_since
            )
            if tiers.review_warning_days and not warned:
                member.tier_expires_at = now + timedelta(days=tiers.review_warning_days)
                result.postponed_for_warning.append(member.id or 0)
                continue
            _change_tier(
                session,
                member=member,
                to=qualified.code,
                reason="review",
                now=now,
                programme=programme,
                channel="system",
            )
            result.downgraded[member.id or 0] = qualified.code
        return result

    return run_once(
        session,
        key=None,
        operation="review_tiers",
        request={},
        result_type=TierReviewResult,
        now=now,
        work=work,
    )


def _change_tier(
    session: Session,
    *,
    member: Member,
    to: str,
    reason: str,
    now: datetime,
    programme: Programme,
    channel: str,
) -> None:
    base = programme.tiers.levels[0].code
    session.add(
        TierChange(
            member_id=member.id or 0,
            from_tier=member.tier,
            to_tier=to,
            reason=reason,
            created_at=now,
        )
    )
    log_event(
        session,
        member=member,
        channel=channel,
        type="tier_up" if reason == "upgrade" else "tier_down",
        now=now,
        payload={"from": member.tier, "to": to},
    )
    member.tier = to
    member.tier_since = now
    member.tier_warned_at = None
    member.tier_expires_at = None if to == base else add_months(now, programme.tiers.window_months)
