"""Points use cases in one line each, for tests: every call is its own session (use case)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from core.kernel import Clock, Database
from core.models import LedgerEntry, Member
from core.points import PointsResult, adjust_points
from core.points.actions import spend_points
from core.programme import Programme
from core.purchases import PurchaseResult, record_purchase, refund_purchase
from core.purchases.orders import RefundResult

TAIPEI_MEMBER_DAY_JUST_BEGUN = datetime(2026, 3, 17, 16, 30, tzinfo=UTC)  # 03-18 00:30 Taipei


def buy(
    db: Database,
    clock: Clock,
    programme: Programme,
    member_id: int,
    amount: Decimal | int | str,
    order_id: str | None = None,
    **options: Any,
) -> PurchaseResult:
    with db.session() as session:
        return record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount=amount,
            order_id=order_id,
            **options,
        )


def refund(
    db: Database,
    clock: Clock,
    programme: Programme,
    order_id: str,
    amount: Decimal | int | str | None = None,
    **options: Any,
) -> RefundResult:
    with db.session() as session:
        return refund_purchase(
            session, clock=clock, programme=programme, order_id=order_id, amount=amount, **options
        )


def spend(db: Database, clock: Clock, member_id: int, points: int, **options: Any) -> PointsResult:
    with db.session() as session:
        return spend_points(
            session,
            clock=clock,
            member_id=member_id,
            points=points,
            reason=options.pop("reason", "test"),
            **options,
        )


def grant(
    db: Database, clock: Clock, programme: Programme, member_id: int, points: int, **options: Any
) -> PointsResult:
    """A staff adjustment: positive grants, negative takes back."""
    with db.session() as session:
        return adjust_points(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            points=points,
            reason=options.pop("reason", "test"),
            actor=options.pop("actor", "staff"),
            **options,
        )


def member(db: Database, member_id: int) -> Member:
    """The member's row as it is now (detached)."""
    with db.session() as session:
        found = session.get(Member, member_id)
        assert found is not None
        return found


def lots(db: Database, member_id: int) -> list[tuple[int, int, bool]]:
    """(amount, remaining, pending) of the member's lots, oldest first."""
    with db.session() as session:
        rows = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.member_id == member_id, col(LedgerEntry.amount) > 0)
            .order_by(col(LedgerEntry.id))
        ).all()
    return [(row.amount, row.remaining, row.pending) for row in rows]
