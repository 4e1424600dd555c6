"""Purchases from the brand's systems: recorded once per order id, refunds reverse points."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from sqlmodel import col, select

from bot.api.deps import AuditOnCommit, ClockDep, ProgrammeDep, ReaderDep, SessionDep, TokenDep
from bot.api.errors import ApiRoute, errors
from bot.api.purchase_schemas import (
    PurchaseCreate,
    PurchasePublic,
    PurchaseRecorded,
    RefundCreate,
    RefundLine,
    RefundRecorded,
)
from bot.api.schemas import NO_NUL, money
from core.kernel import PurchaseNotFound
from core.members import find_member
from core.models import Purchase, Refund, format_member_number
from core.purchases import ORDER_ID_MAX, record_purchase, refund_purchase

router = APIRouter(tags=["purchases"], route_class=ApiRoute)

OrderIdPath = Annotated[
    str,
    Path(min_length=1, max_length=ORDER_ID_MAX, pattern=NO_NUL, examples=["POS-2026-0001"]),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Keeps a refund without a `refund_id` once per key (a retry sends the same "
        "key; another refund of the same amount, another key).",
    ),
]


def _cents(value: int) -> Decimal:
    return money(Decimal(value).scaleb(-2))


@router.post(
    "/purchases",
    status_code=201,
    response_model=PurchaseRecorded,
    summary="Record a purchase (idempotent on order_id)",
    responses={
        200: {"model": PurchaseRecorded, "description": "A repeat: the first result, unchanged."},
        **errors(404, 409, 422),
    },
)
def create(
    body: PurchaseCreate,
    session: SessionDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    caller: TokenDep,
    response: Response,
) -> PurchaseRecorded:
    """Earn the member points for a sale, move their funnel stage and tier. Kept once per
    `order_id`: the same request again answers 200 with the first result and changes
    nothing; the same order id with other details is 409 `idempotency.conflict`."""
    member = find_member(session, body.member)
    watch = AuditOnCommit(
        session,
        clock=clock,
        caller=caller,
        action="purchase.record",
        target=body.order_id,
        details={"member": member.number, "amount": str(body.amount)},
    )
    result = record_purchase(
        session,
        clock=clock,
        programme=programme,
        member_id=member.id or 0,
        amount=body.amount,
        order_id=body.order_id,
        occurred_at=body.occurred_at,
        category=body.category,
        source="api",
        actor=caller.actor,
        channel="api",
    )
    if not watch.committed:
        response.status_code = 200
    return PurchaseRecorded(
        order_id=result.order_id,
        member=result.number,
        amount=money(result.amount),
        points=result.points,
        pending=result.pending,
        multiplier=result.multiplier,
        promotions=result.promotions,
        tier=result.tier,
        upgraded_to=result.upgraded_to,
        stage=result.stage,
        balance=result.balance,
    )


@router.get(
    "/purchases/{order_id}",
    response_model=PurchasePublic,
    summary="Get a purchase and its refunds",
    responses=errors(404, 422),
)
def get_purchase(order_id: OrderIdPath, reader: ReaderDep) -> PurchasePublic:
    purchase = reader.exec(select(Purchase).where(Purchase.order_id == order_id)).one_or_none()
    if purchase is None:
        raise PurchaseNotFound("no purchase has that order id", order_id=order_id)
    refunds = reader.exec(
        select(Refund).where(Refund.purchase_id == purchase.id).order_by(col(Refund.id))
    ).all()
    return PurchasePublic(
        order_id=purchase.order_id,
        member=format_member_number(purchase.member_id),
        amount=_cents(purchase.amount_cents),
        refunded=_cents(purchase.refunded_cents),
        category=purchase.category,
        occurred_at=purchase.occurred_at,
        recorded_at=purchase.recorded_at,
        points_earned=purchase.points_earned,
        points_reversed=purchase.points_reversed,
        source=purchase.source,
        refunds=[
            RefundLine(
                amount=_cents(refund.amount_cents),
                points_reversed=refund.points_reversed,
                points_shortfall=refund.points_shortfall,
                created_at=refund.created_at,
            )
            for refund in refunds
        ],
    )


@router.post(
    "/purchases/{order_id}/refunds",
    status_code=201,
    response_model=RefundRecorded,
    summary="Refund a purchase and reverse its points",
    responses={
        200: {"model": RefundRecorded, "description": "A repeat: the first result, unchanged."},
        **errors(404, 409, 422),
    },
)
def refund(
    order_id: OrderIdPath,
    body: RefundCreate,
    session: SessionDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    caller: TokenDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RefundRecorded:
    """Refund all of a purchase (no `amount`) or part of it, reversing the points it
    earned in proportion; points already spent are reported as `points_shortfall`. Kept
    once per `refund_id`, else per `Idempotency-Key` header, else per order and amount (so
    two equal partial refunds of one order need one of the first two): a repeat answers
    200 with the first result; the same key with another amount is 409. More than what
    is left of the purchase is 409."""
    watch = AuditOnCommit(
        session,
        clock=clock,
        caller=caller,
        action="purchase.refund",
        target=order_id,
        details={"amount": str(body.amount) if body.amount else None},
    )
    result = refund_purchase(
        session,
        clock=clock,
        programme=programme,
        order_id=order_id,
        amount=body.amount,
        # Namespaced by order: brands number refunds per order, or not uniquely at all.
        refund_key=_refund_key(order_id, body.refund_id, idempotency_key),
        actor=caller.actor,
        channel="api",
    )
    if not watch.committed:
        response.status_code = 200
    return RefundRecorded(
        order_id=result.order_id,
        member=format_member_number(result.member_id),
        amount=money(result.amount),
        points_reversed=result.points_reversed,
        points_shortfall=result.points_shortfall,
        balance=result.balance,
    )


def _refund_key(order_id: str, refund_id: str | None, idempotency_key: str | None) -> str | None:
    if refund_id:
        return f"{order_id}:id:{refund_id}"
    if idempotency_key:
        return f"{order_id}:key:{idempotency_key}"
    return None  # per order and amount
