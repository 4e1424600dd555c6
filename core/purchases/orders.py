"""Purchases and refunds: points by the earn rule, stage moves, tier upgrades, reversals."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from pydantic import BaseModel
from sqlmodel import Session, select

from core.campaigns import attribute
from core.funnel import advance_stage, log_event
from core.kernel import (
    CLOCK_SKEW,
    Clock,
    InvalidInput,
    PurchaseNotFound,
    RefundExceedsPurchase,
    as_utc,
    local_day,
    run_once,
)
from core.models import LedgerEntry, Member, Purchase, Refund
from core.points import credit, debit, ensure_room, expire_due, expired_from_lot, lock_member
from core.programme import Programme
from core.rewards import reward_first_purchase
from core.stats import note_purchase, note_refund
from core.tiers import note_qualifying

MAX_AMOUNT = Decimal("100000000")  # NT$100M: anything above is a typo, not a sale
ORDER_ID_MAX = 100


class PurchaseResult(BaseModel):
    purchase_id: int
    order_id: str
    member_id: int
    number: str
    amount: Decimal
    points: int
    pending: bool
    multiplier: Decimal
    promotions: list[str]
    tier: str
    upgraded_to: str | None
    stage: str
    balance: int


class RefundResult(BaseModel):
    order_id: str
    member_id: int
    amount: Decimal
    points_reversed: int
    points_shortfall: int
    balance: int


def parse_amount(value: Decimal | int | float | str) -> Decimal:
    """A positive money amount with at most two decimals."""
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput("the amount is not a number", amount=str(value)) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("the amount must be positive", amount=str(value))
    if amount > MAX_AMOUNT:
        raise InvalidInput("the amount is too large", amount=str(value))
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("the amount has more than two decimals", amount=str(value))
    return amount.quantize(Decimal("0.01"))


def earn_points(
    *, amount: Decimal, tier: str, category: str | None, day: datetime, programme: Programme
) -> tuple[int, Decimal, list[str]]:
    """floor(amount × rate × tier multiplier × category multiplier × active promotions)."""
    earn = programme.earn
    if amount < earn.min_amount:
        return 0, Decimal(1), []
    multiplier = programme.tiers.by_code(tier).multiplier
    if category and category in earn.category_multipliers:
        multiplier *= earn.category_multipliers[category]
    local = local_day(day, programme.zone)
    promotions = [p for p in programme.promotions if p.applies(local, tier)]
    for promotion in promotions:
        multiplier *= promotion.multiplier
    points = (amount * earn.points_per_unit * multiplier).to_integral_value(rounding=ROUND_FLOOR)
    return int(points), multiplier, [p.code for p in promotions]


def record_purchase(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    member_id: int,
    amount: Decimal | int | str,
    order_id: str | None = None,
    occurred_at: datetime | None = None,
    category: str | None = None,
    source: str = "chat",
    actor: str = "system",
    channel: str = "system",
    award_points: bool = True,
    campaign_id: int | None = None,
    variant: str | None = None,
) -> PurchaseResult:
    """Record a sale once per order id: earn points, move the stage, upgrade the tier.

    Repeating an order id with the same details returns the first result; with other
    details it raises IdempotencyConflict."""
    value = parse_amount(amount)
    order_id = (order_id or f"{source}-{uuid.uuid4().hex[:16]}").strip()
    if not order_id or len(order_id) > ORDER_ID_MAX:
        raise InvalidInput(f"order id must be 1–{ORDER_ID_MAX} characters")
    now = clock.now()
    when = as_utc(occurred_at) if occurred_at else now
    if when > now + CLOCK_SKEW:
        raise InvalidInput("the purchase time is in the future", occurred_at=when.isoformat())
    request = {
        "member_id": member_id,
        "amount": str(value),
        "category": category,
        "occurred_at": occurred_at.isoformat() if occurred_at else None,
    }

    def work() -> PurchaseResult:
        member = lock_member(session, member_id)
        points, multiplier, promotions = (
            earn_points(
                amount=value, tier=member.tier, category=category, day=when, programme=programme
            )
            if award_points
            else (0, Decimal(1), [])
        )
        ensure_room(member, points)  # before the purchase row, which holds the points too
        # No campaign named: credit the last campaign message before the sale, if any.
        touch_campaign, touch_variant = attribute(
            session, member_id=member_id, at=when, campaign_id=campaign_id, variant=variant
        )
        purchase = Purchase(
            order_id=order_id,
            member_id=member_id,
            amount_cents=int(value * 100),
            category=category,
            occurred_at=when,
            recorded_at=now,
            points_earned=points,
            source=source,
            actor=actor,
            campaign_id=touch_campaign,
            variant=touch_variant,
        )
        session.add(purchase)
        session.flush()
        note_purchase(session, purchase=purchase, programme=programme)
        pending_until = (
            now + timedelta(days=programme.pending_days) if programme.pending_days else None
        )
        if points > 0:
            credit(
                session,
                member=member,
                amount=points,
                kind="earn",
                source="purchase",
                reason=f"purchase {order_id}",
                actor=actor,
                key=f"purchase:{order_id}",
                now=now,
                programme=programme,
                pending_until=pending_until,
                purchase_id=purchase.id,
            )
        previous = member.last_purchase_at
        _count_purchase(member, value, when)
        first = member.purchase_count == 1
        repeat_in_window = previous is not None and (
            when - previous <= timedelta(days=programme.funnel.loyalty_window_days)
        )
        advance_stage(
            session,
            member=member,
            to="loyalty" if repeat_in_window else "action",
            channel=channel,
            now=now,
            programme=programme,
        )
        log_event(
            session,
            member=member,
            channel=channel,
            type="purchase",
            now=now,
            campaign_id=touch_campaign,
            variant=touch_variant,
            payload={"order_id": order_id, "amount": str(value), "points": points},
        )
        upgraded = note_qualifying(
            session,
            member=member,
            amount=int(value),
            source="purchase",
            now=now,
            programme=programme,
            channel=channel,
            counted_at=when,
        )
        if first:
            reward_first_purchase(
                session, invitee=member, now=now, programme=programme, channel=channel
            )
        return PurchaseResult(
            purchase_id=purchase.id or 0,
            order_id=order_id,
            member_id=member_id,
            number=member.number,
            amount=value,
            points=points,
            pending=pending_until is not None,
            multiplier=multiplier,
            promotions=promotions,
            tier=member.tier,
            upgraded_to=upgraded,
            stage=member.stage,
            balance=member.points_balance,
        )

    return run_once(
        session,
        key=f"purchase:{order_id}",
        operation="record_purchase",
        request=request,
        result_type=PurchaseResult,
        now=now,
        work=work,
    )


def _count_purchase(member: Member, value: Decimal, when: datetime) -> None:
    member.purchase_count += 1
    member.spent_cents += int(value * 100)
    member.risk = "active"
    if member.first_purchase_at is None or when < member.first_purchase_at:
        member.first_purchase_at = when
    if member.last_purchase_at is None or when > member.last_purchase_at:
        member.last_purchase_at = when


def refund_purchase(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    order_id: str,
    amount: Decimal | int | str | None = None,
    refund_key: str | None = None,
    actor: str = "system",
    channel: str = "system",
) -> RefundResult:
    """Refund all (default) or part of a purchase and reverse the points it earned in
    proportion. Points already spent cannot be taken back below zero: the part that could
    not be reversed is reported as a shortfall.

    Idempotent per `refund_key`; without one, per order id and amount."""
    now = clock.now()
    partial = parse_amount(amount) if amount is not None else None
    key = refund_key or f"{order_id}:{partial if partial is not None else 'full'}"
    request = {"order_id": order_id, "amount": str(partial) if partial is not None else None}

    def work() -> RefundResult:
        purchase = session.exec(select(Purchase).where(Purchase.order_id == order_id)).one_or_none()
        if purchase is None:
            raise PurchaseNotFound("no purchase has that order id", order_id=order_id)
        member = lock_member(session, purchase.member_id)
        session.refresh(purchase)
        left_cents = purchase.amount_cents - purchase.refunded_cents
        cents = int(partial * 100) if partial is not None else left_cents
        if cents <= 0 or cents > left_cents:
            raise RefundExceedsPurchase(
                "the refund is more than what is left of the purchase",
                order_id=order_id,
                left=left_cents / 100,
            )
        purchase.refunded_cents += cents
        note_refund(session, purchase=purchase, cents=cents, programme=programme)
        if purchase.refunded_cents == purchase.amount_cents:
            to_reverse = purchase.points_earned - purchase.points_reversed
        else:
            to_reverse = math.floor(purchase.points_earned * cents / purchase.amount_cents)
        reversed_points = _reverse(
            session,
            member=member,
            purchase=purchase,
            points=to_reverse,
            key=f"refund:{key}",
            actor=actor,
            now=now,
        )
        purchase.points_reversed += to_reverse
        session.add(
            Refund(
                purchase_id=purchase.id or 0,
                refund_key=key,
                amount_cents=cents,
                points_reversed=reversed_points,
                points_shortfall=to_reverse - reversed_points,
                created_at=now,
            )
        )
        member.spent_cents -= cents
        note_qualifying(
            session,
            member=member,
            # The purchase counted whole units; take back what no longer stays whole, so
            # partial refunds adding up to the purchase take back exactly what it counted.
            amount=(left_cents - cents) // 100 - left_cents // 100,
            source="purchase",
            now=now,
            programme=programme,
            channel=channel,
            counted_at=purchase.occurred_at,
        )
        log_event(
            session,
            member=member,
            channel=channel,
            type="refund",
            now=now,
            payload={
                "order_id": order_id,
                "amount": str(Decimal(cents) / 100),
                "points": -reversed_points,
            },
        )
        return RefundResult(
            order_id=order_id,
            member_id=member.id or 0,
            amount=Decimal(cents) / 100,
            points_reversed=reversed_points,
            points_shortfall=to_reverse - reversed_points,
            balance=member.points_balance,
        )

    return run_once(
        session,
        key=f"refund:{key}",
        operation="refund_purchase",
        request=request,
        result_type=RefundResult,
        now=now,
        work=work,
    )


def _reverse(
    session: Session,
    *,
    member: Member,
    purchase: Purchase,
    points: int,
    key: str,
    actor: str,
    now: datetime,
) -> int:
    """Take back up to `points`, from the purchase's own lot first (pending or not)."""
    if points <= 0:
        return 0
    expire_due(session, member=member, now=now)
    lot = session.exec(
        select(LedgerEntry).where(LedgerEntry.purchase_id == purchase.id, LedgerEntry.amount > 0)
    ).first()
    # Points of this purchase that already expired are gone: taking them again from other
    # lots would make the member lose them twice.
    expired = expired_from_lot(session, lot_id=lot.id) if lot and lot.id else 0
    still_held = max(0, purchase.points_earned - purchase.points_reversed - expired)
    # With pending lots included, the lots hold exactly the balance, so this always fits.
    take = min(points, still_held, member.points_balance)
    if take > 0:
        debit(
            session,
            member=member,
            amount=take,
            kind="reverse",
            source="refund",
            reason=f"refund {purchase.order_id}",
            actor=actor,
            key=key,
            now=now,
            include_pending=True,
            first_lot_id=lot.id if lot else None,
        )
    return take
