"""What a member sees in /coupons: the coupons on offer to them now, and the ones they hold."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.coupons.codes import CouponValue, describe_value
from core.coupons.rules import claims_by_member, ineligible, remaining_stock, unavailable
from core.kernel import (
    ConsentRequired,
    CouponLimitReached,
    CouponOutOfStock,
    InsufficientPoints,
    MemberNotFound,
)
from core.models import CouponDefinition, CouponGrant, Member
from core.points import spendable
from core.programme import Programme


class AvailableCoupon(BaseModel):
    coupon_code: str
    title: dict[str, str]
    description: dict[str, str]
    value: CouponValue
    points_cost: int
    stock: int | None
    remaining: int | None
    """Stock left; None = unlimited."""
    per_member_limit: int
    claimed_by_member: int
    valid_until: datetime | None
    valid_days: int | None
    claimable: bool
    reason: str | None
    """When not claimable, the code of the error a claim would raise now."""


class MemberCoupon(BaseModel):
    grant_id: int
    code: str
    coupon_code: str
    title: dict[str, str]
    value: CouponValue
    claimed_at: datetime
    expires_at: datetime | None
    """For the countdown in chat; None = does not expire."""
    status: str


def available_coupons(
    session: Session, *, member_id: int, now: datetime, programme: Programme
) -> list[AvailableCoupon]:
    """Coupons offered to this member now (active, in their window, for their audience),
    each with stock left, how many the member claimed, and whether they can claim it now.
    Sold-out and already-claimed ones stay listed, marked with the reason, so chat can say so.
    Config coupons come in config order, then the others by age."""
    member = session.get(Member, member_id)
    if member is None or member.erased_at is not None:
        raise MemberNotFound("no such member", member_id=member_id)
    definitions = [
        row
        for row in session.exec(
            select(CouponDefinition)
            .where(col(CouponDefinition.active).is_(True))
            .order_by(col(CouponDefinition.id))
        ).all()
        if unavailable(row, now) is None and _in_audience(row, member, now)
    ]
    claimed = claims_by_member(
        session, member_id=member_id, definition_ids=[row.id or 0 for row in definitions]
    )
    order = {rule.code: index for index, rule in enumerate(programme.coupons)}
    definitions.sort(key=lambda row: (order.get(row.code, len(order)), row.id or 0))
    return [_offer(row, member, claimed.get(row.id or 0, 0), now) for row in definitions]


def _in_audience(row: CouponDefinition, member: Member, now: datetime) -> bool:
    """Members outside a coupon's audience do not see it; members yet to sign up do, so chat
    can invite them to sign up for it."""
    refusal = ineligible(row, member, now)
    return refusal is None or isinstance(refusal, ConsentRequired)


def _offer(row: CouponDefinition, member: Member, claimed: int, now: datetime) -> AvailableCoupon:
    remaining = remaining_stock(row)
    reason: str | None = None
    if not member.signed_up:
        reason = ConsentRequired.code
    elif claimed >= row.per_member_limit:
        reason = CouponLimitReached.code
    elif remaining == 0:
        reason = CouponOutOfStock.code
    elif row.points_cost > spendable(member):
        reason = InsufficientPoints.code
    return AvailableCoupon(
        coupon_code=row.code,
        title=row.title,
        description=row.description,
        value=describe_value(row),
        points_cost=row.points_cost,
        stock=row.stock,
        remaining=remaining,
        per_member_limit=row.per_member_limit,
        claimed_by_member=claimed,
        valid_until=row.valid_until,
        valid_days=row.valid_days,
        claimable=reason is None,
        reason=reason,
    )


def member_coupons(
    session: Session, *, member_id: int, now: datetime, include_used: bool = False
) -> list[MemberCoupon]:
    """The coupons the member holds and can still use, soonest to expire first; with
    `include_used`, also the redeemed and expired ones (newest first after the usable)."""
    query = select(CouponGrant, CouponDefinition).join(
        CouponDefinition, col(CouponDefinition.id) == CouponGrant.definition_id
    )
    query = query.where(CouponGrant.member_id == member_id)
    rows = session.exec(query.order_by(col(CouponGrant.id).desc())).all()
    held = [_held(grant, definition, now) for grant, definition in rows]
    usable = [coupon for coupon in held if coupon.status == "active"]
    usable.sort(key=lambda c: (c.expires_at is None, c.expires_at or now, c.grant_id))
    used = [coupon for coupon in held if coupon.status != "active"]
    return usable + used if include_used else usable


def _held(grant: CouponGrant, definition: CouponDefinition, now: datetime) -> MemberCoupon:
    status = grant.status
    # The expiry job may not have run yet; a coupon past its time is expired all the same.
    if status == "active" and grant.expires_at is not None and now >= grant.expires_at:
        status = "expired"
    return MemberCoupon(
        grant_id=grant.id or 0,
        code=grant.code,
        coupon_code=definition.code,
        title=definition.title,
        value=describe_value(definition),
        claimed_at=grant.claimed_at,
        expires_at=grant.expires_at,
        status=status,
    )
