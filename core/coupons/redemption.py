"""Staff redeem a member's coupon code at the counter, once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlmodel import Session, select

from core.coupons.codes import CouponValue, describe_value, discount_for, normalise_code
from core.funnel import log_event
from core.kernel import (
    Clock,
    CouponAlreadyRedeemed,
    CouponCodeUnknown,
    CouponExpired,
    CouponMinimumSpend,
    InvalidInput,
    run_once,
)
from core.models import CouponDefinition, CouponGrant, Member
from core.points import lock_member
from core.programme import Programme
from core.purchases import ORDER_ID_MAX, parse_amount
from core.stats import note_redemption


class RedeemResult(BaseModel):
    grant_id: int
    code: str
    coupon_code: str
    title: dict[str, str]
    value: CouponValue
    member_id: int
    number: str
    redeemed_at: datetime
    redeemed_by: str
    order_id: str | None
    order_amount: Decimal | None
    discount: Decimal | None
    campaign_id: int | None
    variant: str | None


def redeem_coupon(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    code: str,
    actor: str,
    channel: str,
    order_amount: Decimal | int | str | None = None,
    order_id: str | None = None,
    idempotency_key: str | None = None,
) -> RedeemResult:
    """Staff use a member's coupon code at the counter, once.

    Raises CouponCodeUnknown, CouponAlreadyRedeemed (with when), CouponExpired, or
    CouponMinimumSpend when the order is below the coupon's minimum spend. Without an order
    amount the minimum spend is left to staff. A repeat with the same idempotency key
    returns the first result."""
    stored = normalise_code(code)
    amount = parse_amount(order_amount) if order_amount is not None else None
    if order_id is not None and not 0 < len(order_id.strip()) <= ORDER_ID_MAX:
        raise InvalidInput(f"order id must be 1–{ORDER_ID_MAX} characters")
    now = clock.now()

    def work() -> RedeemResult:
        found = session.exec(select(CouponGrant).where(CouponGrant.code == stored)).one_or_none()
        if found is None:
            raise CouponCodeUnknown("no coupon has that code", code=stored)
        member = lock_member(session, found.member_id)
        grant = _lock_grant(session, found.id or 0)
        definition = session.get(CouponDefinition, grant.definition_id)
        assert definition is not None  # a foreign key
        _check_redeemable(grant, definition, amount=amount, now=now)
        grant.status = "redeemed"
        grant.redeemed_at = now
        grant.redeemed_by = actor[:100]
        grant.redeemed_order_id = order_id.strip() if order_id else None
        note_redemption(session, grant=grant, programme=programme)
        log_event(
            session,
            member=member,
            channel=channel,
            type="coupon_redeemed",
            now=now,
            campaign_id=grant.campaign_id,
            variant=grant.variant,
            payload={
                "coupon": definition.code,
                "grant_id": grant.id,
                "order_id": grant.redeemed_order_id,
                "order_amount": str(amount) if amount is not None else None,
                "actor": actor[:100],
            },
        )
        return _redeem_result(definition, grant, member, amount)

    return run_once(
        session,
        key=f"redeem:{idempotency_key}" if idempotency_key else None,
        operation="redeem_coupon",
        request={"code": stored, "order_amount": amount, "order_id": order_id},
        result_type=RedeemResult,
        now=now,
        work=work,
    )


def _lock_grant(session: Session, grant_id: int) -> CouponGrant:
    return session.exec(
        select(CouponGrant)
        .where(CouponGrant.id == grant_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the row as of the lock
    ).one()


def _check_redeemable(
    grant: CouponGrant, definition: CouponDefinition, *, amount: Decimal | None, now: datetime
) -> None:
    if grant.status == "redeemed":
        raise CouponAlreadyRedeemed(
            "this coupon was already used", code=grant.code, when=grant.redeemed_at
        )
    if grant.status == "expired" or (grant.expires_at is not None and now >= grant.expires_at):
        raise CouponExpired("this coupon has expired", code=grant.code, when=grant.expires_at)
    if amount is not None and amount < definition.min_spend:
        raise CouponMinimumSpend(
            "the order is below this coupon's minimum spend",
            code=grant.code,
            min_spend=definition.min_spend,
            order_amount=amount,
        )


def _redeem_result(
    definition: CouponDefinition, grant: CouponGrant, member: Member, amount: Decimal | None
) -> RedeemResult:
    value = describe_value(definition)
    return RedeemResult(
        grant_id=grant.id or 0,
        code=grant.code,
        coupon_code=definition.code,
        title=definition.title,
        value=value,
        member_id=member.id or 0,
        number=member.number,
        redeemed_at=grant.redeemed_at or grant.claimed_at,
        redeemed_by=grant.redeemed_by or "",
        order_id=grant.redeemed_order_id,
        order_amount=amount,
        discount=discount_for(value, amount) if amount is not None else None,
        campaign_id=grant.campaign_id,
        variant=grant.variant,
    )
