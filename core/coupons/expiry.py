"""Scheduled work on coupons members hold: expiring them, and finding the ones to remind."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.funnel import log_event
from core.kernel import Clock, run_once
from core.models import CouponDefinition, CouponGrant, Member
from core.points import lock_member


class CouponExpiryResult(BaseModel):
    grants: int
    members: int


class ExpiringCoupon(BaseModel):
    grant_id: int
    member_id: int
    code: str
    coupon_code: str
    title: dict[str, str]
    expires_at: datetime


class RemindedResult(BaseModel):
    marked: int


def expire_coupons(session: Session, *, clock: Clock, limit: int = 1000) -> CouponExpiryResult:
    """Mark up to `limit` active coupons past their time as expired, one event each.
    Run again until it returns 0 grants."""
    now = clock.now()

    def work() -> CouponExpiryResult:
        due = session.exec(
            select(CouponGrant.id, CouponGrant.member_id)
            .where(CouponGrant.status == "active", col(CouponGrant.expires_at) <= now)
            .order_by(col(CouponGrant.expires_at), col(CouponGrant.id))
            .limit(limit)
        ).all()
        by_member: dict[int, list[int]] = defaultdict(list)
        for grant_id, member_id in due:
            by_member[member_id].append(grant_id or 0)
        expired = 0
        # Members in id order, each locked before its grants, as claims and redemptions do.
        for member_id in sorted(by_member):
            member = lock_member(session, member_id, allow_erased=True)
            expired += _expire_for(session, member=member, grant_ids=by_member[member_id], now=now)
        return CouponExpiryResult(grants=expired, members=len(by_member))

    return run_once(
        session,
        key=None,
        operation="expire_coupons",
        request={},
        result_type=CouponExpiryResult,
        now=now,
        work=work,
    )


def _expire_for(session: Session, *, member: Member, grant_ids: list[int], now: datetime) -> int:
    expired = 0
    for grant_id in sorted(grant_ids):
        # Conditional, so a redemption that won the race is never overwritten.
        result = session.execute(
            sa.update(CouponGrant)
            .where(col(CouponGrant.id) == grant_id, col(CouponGrant.status) == "active")
            .values(status="expired")
            .returning(col(CouponGrant.definition_id))
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if result is None:
            continue
        definition = session.get(CouponDefinition, result[0])
        log_event(
            session,
            member=member,
            channel="system",
            type="coupon_expired",
            now=now,
            payload={"coupon": definition.code if definition else None, "grant_id": grant_id},
        )
        expired += 1
    return expired


def coupons_expiring(session: Session, *, now: datetime, within_days: int) -> list[ExpiringCoupon]:
    """Active coupons that expire within `within_days` and whose holder was not yet reminded
    (members who erased their data are left out)."""
    horizon = now + timedelta(days=within_days)
    rows = session.exec(
        select(CouponGrant, CouponDefinition)
        .join(CouponDefinition, col(CouponDefinition.id) == CouponGrant.definition_id)
        .join(Member, col(Member.id) == CouponGrant.member_id)
        .where(
            CouponGrant.status == "active",
            col(CouponGrant.reminded_at).is_(None),
            col(CouponGrant.expires_at) > now,
            col(CouponGrant.expires_at) <= horizon,
            col(Member.erased_at).is_(None),
        )
        .order_by(col(CouponGrant.expires_at), col(CouponGrant.id))
    ).all()
    return [
        ExpiringCoupon(
            grant_id=grant.id or 0,
            member_id=grant.member_id,
            code=grant.code,
            coupon_code=definition.code,
            title=definition.title,
            expires_at=grant.expires_at or horizon,
        )
        for grant, definition in rows
    ]


def mark_reminded(session: Session, *, clock: Clock, grant_ids: list[int]) -> RemindedResult:
    """Record that the holders of these coupons were reminded; each is marked once."""
    now = clock.now()

    def work() -> RemindedResult:
        if not grant_ids:
            return RemindedResult(marked=0)
        result = session.execute(
            sa.update(CouponGrant)
            .where(col(CouponGrant.id).in_(grant_ids), col(CouponGrant.reminded_at).is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        return RemindedResult(marked=result.rowcount or 0)  # type: ignore[attr-defined]

    return run_once(
        session,
        key=None,
        operation="mark_reminded",
        request={},
        result_type=RemindedResult,
        now=now,
        work=work,
    )
