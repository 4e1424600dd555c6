"""What some automations do besides their message, in the same transaction as it: coupons
marked reminded, birthday points given (once a year), members marked warned before a tier
review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.automations.audiences import Context, Due
from core.models import CouponGrant, Event, LedgerEntry, Member
from core.points import credit, lock_member

Effect = Callable[[Context, list[Due]], int]
"""Applies a batch's effect; returns points given."""


def _remind_coupons(ctx: Context, dues: list[Due]) -> int:
    grant_ids = [grant_id for due in dues for grant_id in due.facts["grants"]]
    if grant_ids:
        ctx.session.execute(
            sa.update(CouponGrant)
            .where(col(CouponGrant.id).in_(grant_ids), col(CouponGrant.reminded_at).is_(None))
            .values(reminded_at=ctx.now)
            .execution_options(synchronize_session=False)
        )
    return 0


def _birthday_gifts(ctx: Context, dues: list[Due]) -> int:
    """Credit each member's birthday points once a year (ledger key birthday:<year>:<id>)."""
    session, now = ctx.session, ctx.now
    keys = {
        f"birthday:{due.period_key}:{due.member_id}": due for due in dues if due.facts["points"]
    }
    if not keys:
        return 0
    given = set(
        session.exec(
            select(LedgerEntry.idempotency_key).where(col(LedgerEntry.idempotency_key).in_(keys))
        ).all()
    )
    total = 0
    for key, due in sorted(keys.items(), key=lambda item: item[1].member_id):
        if key in given:
            continue
        member = lock_member(session, due.member_id)
        credit(
            session,
            member=member,
            amount=due.facts["points"],
            kind="earn",
            source="birthday",
            reason=f"birthday gift {due.period_key}",
            actor="system",
            key=key,
            now=now,
            programme=ctx.programme,
        )
        payload = {"points": due.facts["points"], "year": due.period_key}
        _event(session, member.id or 0, member.stage, "birthday_gift", payload, now)
        total += due.facts["points"]
    return total


def _mark_warned(ctx: Context, dues: list[Due]) -> int:
    """Mark members warned (the review downgrades only the warned) and log the warning."""
    session, now = ctx.session, ctx.now
    member_ids = [due.member_id for due in dues]
    if not member_ids:
        return 0
    session.execute(
        sa.update(Member)
        .where(col(Member.id).in_(member_ids))
        .values(tier_warned_at=now)
        .execution_options(synchronize_session=False)
    )
    stages = dict(
        session.exec(select(Member.id, Member.stage).where(col(Member.id).in_(member_ids))).all()
    )
    for due in dues:
        stage = stages.get(due.member_id, "")
        _event(session, due.member_id, stage, "tier_warning", dict(due.facts), now)
    return 0


def _event(
    session: Session, member_id: int, stage: str, type: str, payload: dict[str, Any], now: datetime
) -> None:
    """An event that is not the member's own activity (their last activity stays)."""
    session.add(
        Event(
            member_id=member_id,
            channel="system",
            type=type,
            stage=stage or "interest",
            payload=payload,
            created_at=now,
        )
    )


EFFECTS: dict[str, Effect] = {
    "coupon_expiry_reminder": _remind_coupons,
    "birthday": _birthday_gifts,
    "tier_downgrade_warning": _mark_warned,
}
