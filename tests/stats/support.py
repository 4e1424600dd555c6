"""Set-up for stats tests: members, sales and claims through the real use cases."""

from __future__ import annotations

from datetime import datetime

from core.coupons import claim_coupon
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.programme import Programme
from core.purchases import record_purchase
from core.stats import rebuild_aggregates
from tests.stats.recompute import aggregate_rows


def buy(
    db: Database,
    clock: FixedClock,
    programme: Programme,
    member_id: int,
    order_id: str,
    amount: str = "100",
    occurred_at: datetime | None = None,
    campaign_id: int | None = None,
) -> None:
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount=amount,
            order_id=order_id,
            occurred_at=occurred_at,
            source="api",
            campaign_id=campaign_id,
        )


def claim(
    db: Database,
    clock: FixedClock,
    programme: Programme,
    member_id: int,
    coupon: str = "WELCOME50",
    campaign_id: int | None = None,
) -> str:
    with db.session() as session:
        return claim_coupon(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            coupon_code=coupon,
            channel="console",
            campaign_id=campaign_id,
        ).code


def assert_rebuild_agrees(db: Database, programme: Programme) -> None:
    """The incrementally kept tables equal a recomputation from the base tables."""
    kept = aggregate_rows(db)
    with db.session() as session:
        rebuild_aggregates(session, programme=programme)
        session.commit()
    assert aggregate_rows(db) == kept
