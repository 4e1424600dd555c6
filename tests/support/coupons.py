"""Coupon tests' set-up: defining coupons, claiming, and snapshots of state."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from core.coupons import ClaimResult, RedeemResult, claim_coupon, define_coupon, redeem_coupon
from core.kernel import Clock, Database
from core.models import CouponDefinition, CouponGrant, Event, LedgerEntry, Member, StageEntry
from core.points import adjust_points
from core.programme import CouponRule, Programme


def define(db: Database, clock: Clock, code: str = "TEST", **fields: Any) -> str:
    fields.setdefault("title", {"zh-TW": "測試券", "en": "Test coupon"})
    fields.setdefault("kind", "amount_off")
    fields.setdefault("value", 50)
    with db.session() as session:
        define_coupon(session, clock=clock, rule=CouponRule(code=code, **fields))
    return code


def claim(
    db: Database,
    clock: Clock,
    programme: Programme,
    member_id: int,
    code: str = "TEST",
    **options: Any,
) -> ClaimResult:
    with db.session() as session:
        return claim_coupon(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            coupon_code=code,
            channel="console",
            **options,
        )


def redeem(
    db: Database, clock: Clock, programme: Programme, code: str, **options: Any
) -> RedeemResult:
    options.setdefault("actor", "staff:1")
    options.setdefault("channel", "console")
    with db.session() as session:
        return redeem_coupon(session, clock=clock, programme=programme, code=code, **options)


def give_points(
    db: Database, clock: Clock, programme: Programme, member_id: int, points: int
) -> None:
    with db.session() as session:
        adjust_points(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            points=points,
            reason="test",
            actor="test",
        )


def set_member(db: Database, member_id: int, **fields: Any) -> None:
    """Put a member in a state that would take many use cases to reach (a tier, a segment)."""
    with db.transaction() as session:
        member = session.get(Member, member_id)
        assert member is not None
        for name, value in fields.items():
            setattr(member, name, value)


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a claim or a redemption could change."""
    with db.session() as session:

        def count(model: Any) -> int:
            return session.exec(select(sa.func.count()).select_from(model)).one()

        return {
            "grants": sorted(
                (g.code, g.status, g.redeemed_at) for g in session.exec(select(CouponGrant))
            ),
            "claimed": sorted((d.code, d.claimed) for d in session.exec(select(CouponDefinition))),
            "ledger": count(LedgerEntry),
            "events": count(Event),
            "stage_entries": count(StageEntry),
            "members": sorted(
                (m.id, m.stage, m.points_balance, m.last_activity_at)
                for m in session.exec(select(Member))
            ),
        }


def grants(db: Database) -> list[CouponGrant]:
    with db.session() as session:
        return list(session.exec(select(CouponGrant).order_by(CouponGrant.id)).all())


def events(db: Database, type: str) -> list[Event]:
    with db.session() as session:
        return list(session.exec(select(Event).where(Event.type == type).order_by(Event.id)).all())


def definition(db: Database, code: str = "TEST") -> CouponDefinition:
    with db.session() as session:
        return session.exec(select(CouponDefinition).where(CouponDefinition.code == code)).one()
