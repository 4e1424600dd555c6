"""Claiming a coupon: stock and per-member limits that hold under any concurrency, the
points cost, and a unique code for the member."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.campaigns import attribute
from core.coupons.codes import CouponValue, describe_value, new_code
from core.coupons.rules import (
    claims_by_member,
    find_definition,
    grant_expiry,
    ineligible,
    remaining_stock,
    unavailable,
)
from core.funnel import advance_stage, log_event
from core.kernel import (
    MAX_INT,
    MAX_KEY_LENGTH,
    Clock,
    CouponLimitReached,
    CouponOutOfStock,
    InvalidInput,
    run_once,
)
from core.models import CouponDefinition, CouponGrant, Member
from core.points import debit, lock_member
from core.programme import Programme
from core.stats import note_claim

# The ledger key is "coupon:claim:<key>"; it must fit the ledger's 200-character column.
CLAIM_KEY_MAX = MAX_KEY_LENGTH - len("coupon:claim:")
VARIANT_MAX = 16


class ClaimResult(BaseModel):
    grant_id: int
    code: str
    coupon_code: str
    title: dict[str, str]
    value: CouponValue
    member_id: int
    number: str
    claimed_at: datetime
    expires_at: datetime | None
    points_spent: int
    balance: int
    stage: str
    remaining: int | None


def claim_coupon(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    member_id: int,
    coupon_code: str,
    channel: str,
    idempotency_key: str | None = None,
    campaign_id: int | None = None,
    variant: str | None = None,
) -> ClaimResult:
    """Give the member a coupon with a fresh code: checks validity, eligibility, the
    per-member limit, stock and the points cost, moves the member to `decision`.

    Locks in one order (idempotency key, member row, coupon definition) so concurrent
    claims never deadlock. A repeat with the same idempotency key returns the first result."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= CLAIM_KEY_MAX:
        raise InvalidInput(f"idempotency key must be 1–{CLAIM_KEY_MAX} characters")
    _check_attribution(campaign_id, variant)
    now = clock.now()
    grant_key = f"claim:{idempotency_key or uuid.uuid4().hex}"

    def work() -> ClaimResult:
        definition = find_definition(session, coupon_code)
        _check_offered(definition, now)
        member = lock_member(session, member_id)
        _check_member(session, definition=definition, member=member, now=now)
        grant = _issue(session, definition=definition, member=member, key=grant_key, now=now)
        # No campaign named (a typed /coupons claim): credit the last campaign message.
        touch = attribute(
            session, member_id=member_id, at=now, campaign_id=campaign_id, variant=variant
        )
        grant.campaign_id, grant.variant = touch
        note_claim(session, grant=grant, programme=programme)
        if definition.points_cost:
            debit(
                session,
                member=member,
                amount=definition.points_cost,
                kind="spend",
                source="coupon",
                reason=f"coupon {definition.code}",
                actor="member",
                key=f"coupon:{grant_key}",
                now=now,
            )
        advance_stage(
            session, member=member, to="decision", channel=channel, now=now, programme=programme
        )
        log_event(
            session,
            member=member,
            channel=channel,
            type="coupon_claimed",
            now=now,
            campaign_id=grant.campaign_id,
            variant=grant.variant,
            payload={"coupon": definition.code, "grant_id": grant.id, "points": grant.points_spent},
        )
        remaining = _take_stock(session, definition)  # last: hold the hot row briefly
        return _claim_result(definition, grant, member, remaining)

    return run_once(
        session,
        key=f"claim:{idempotency_key}" if idempotency_key else None,
        operation="claim_coupon",
        request={
            "member_id": member_id,
            "coupon_code": coupon_code,
            "campaign_id": campaign_id,
            "variant": variant,
        },
        result_type=ClaimResult,
        now=now,
        work=work,
    )


def _check_attribution(campaign_id: int | None, variant: str | None) -> None:
    if campaign_id is not None and not 0 < campaign_id <= MAX_INT:
        raise InvalidInput("no such campaign", campaign_id=campaign_id)
    if variant is not None and not 0 < len(variant) <= VARIANT_MAX:
        raise InvalidInput(f"a variant must be 1–{VARIANT_MAX} characters", variant=variant[:32])


def _check_offered(definition: CouponDefinition, now: datetime) -> None:
    refusal = unavailable(definition, now)
    if refusal is not None:
        raise refusal
    # Sold out: say so before queueing on the member's lock. Only a hint: the conditional
    # UPDATE in _take_stock decides.
    if remaining_stock(definition) == 0:
        raise CouponOutOfStock("this coupon is sold out", coupon=definition.code)


def _check_member(
    session: Session, *, definition: CouponDefinition, member: Member, now: datetime
) -> None:
    """Eligibility and the per-member limit; the caller holds the member's row lock, so
    concurrent claims by one member count each other's grants."""
    refusal = ineligible(definition, member, now)
    if refusal is not None:
        raise refusal
    held = claims_by_member(session, member_id=member.id or 0, definition_ids=[definition.id or 0])
    if held.get(definition.id or 0, 0) >= definition.per_member_limit:
        raise CouponLimitReached(
            "you already claimed this coupon", limit=definition.per_member_limit
        )


def _issue(
    session: Session, *, definition: CouponDefinition, member: Member, key: str, now: datetime
) -> CouponGrant:
    code = new_code()
    # A clash is about one in 10¹² per existing code; should it happen, pick another rather
    # than fail the unique index and redo the whole claim.
    while session.exec(select(CouponGrant.id).where(CouponGrant.code == code)).first():
        code = new_code()
    grant = CouponGrant(
        definition_id=definition.id or 0,
        member_id=member.id or 0,
        code=code,
        status="active",
        claimed_at=now,
        expires_at=grant_expiry(definition, now),
        points_spent=definition.points_cost,
        idempotency_key=key,
    )
    session.add(grant)
    session.flush()
    return grant


def _take_stock(session: Session, definition: CouponDefinition) -> int | None:
    """Take one from stock with one conditional UPDATE: the database re-checks `claimed <
    stock` on the latest row version, so no interleaving of claims can oversell, and the
    row stays locked only from here to commit. Returns the stock left."""
    table = CouponDefinition
    statement = (
        sa.update(table)
        .where(
            col(table.id) == definition.id,
            sa.or_(col(table.stock).is_(None), col(table.claimed) < col(table.stock)),
        )
        .values(claimed=col(table.claimed) + 1)
        .returning(col(table.claimed), col(table.stock))
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).one_or_none()
    if row is None:  # no row matched: the last one went to someone else meanwhile
        raise CouponOutOfStock("this coupon is sold out", coupon=definition.code)
    claimed, stock = row
    return None if stock is None else max(0, stock - claimed)


def _claim_result(
    definition: CouponDefinition, grant: CouponGrant, member: Member, remaining: int | None
) -> ClaimResult:
    return ClaimResult(
        grant_id=grant.id or 0,
        code=grant.code,
        coupon_code=definition.code,
        title=definition.title,
        value=describe_value(definition),
        member_id=member.id or 0,
        number=member.number,
        claimed_at=grant.claimed_at,
        expires_at=grant.expires_at,
        points_spent=grant.points_spent,
        balance=member.points_balance,
        stage=member.stage,
        remaining=remaining,
    )
