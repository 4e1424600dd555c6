"""Points use cases: spend, grant or take back by staff, expire oldest first, release pending."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.funnel import log_event
from core.kernel import Clock, InvalidInput, run_once
from core.models import LedgerEntry, Member
from core.points.ledger import credit, debit, expire_due, lock_member, release_due, spendable
from core.programme import Programme

MAX_POINTS = 10_000_000


class PointsResult(BaseModel):
    member_id: int
    entry_id: int
    amount: int
    balance: int
    spendable: int


class PointsRunResult(BaseModel):
    """One run of a points job: the members it went through and the points it expired
    (`expire_points`) or made spendable (`release_pending_points`)."""

    members: int
    points: int


class ExpiringPoints(BaseModel):
    member_id: int
    points: int
    first_expiry: datetime


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidInput("points must be a whole number", points=str(points))
    if points <= 0:
        raise InvalidInput("points must be positive", points=points)
    if points > MAX_POINTS:
        raise InvalidInput("that is too many points", points=points)


def spend_points(
    session: Session,
    *,
    clock: Clock,
    member_id: int,
    points: int,
    reason: str,
    actor: str = "system",
    channel: str = "system",
    idempotency_key: str | None = None,
) -> PointsResult:
    """Spend points; never below zero, also under concurrent spends."""
    _check_points(points)
    now = clock.now()
    key = idempotency_key or uuid.uuid4().hex

    def work() -> PointsResult:
        member = lock_member(session, member_id)
        entry = debit(
            session,
            member=member,
            amount=points,
            kind="spend",
            source="redeem",
            reason=reason,
            actor=actor,
            key=f"spend:{key}",
            now=now,
        )
        log_event(
            session,
            member=member,
            channel=channel,
            type="points_spent",
            now=now,
            payload={"points": points, "reason": reason[:100]},
        )
        session.flush()
        return PointsResult(
            member_id=member_id,
            entry_id=entry.id or 0,
            amount=-points,
            balance=member.points_balance,
            spendable=spendable(member),
        )

    return run_once(
        session,
        key=f"spend:{key}" if idempotency_key else None,
        operation="spend_points",
        request={"member_id": member_id, "points": points},
        result_type=PointsResult,
        now=now,
        work=work,
    )


def adjust_points(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    member_id: int,
    points: int,
    reason: str,
    actor: str,
    channel: str = "system",
    idempotency_key: str | None = None,
) -> PointsResult:
    """Staff grant (positive) or take back (negative) points, with a reason, audited."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidInput("points must be a whole number other than zero", points=str(points))
    _check_points(abs(points))
    if not reason.strip():
        raise InvalidInput("a reason is required")
    now = clock.now()
    key = idempotency_key or uuid.uuid4().hex

    def work() -> PointsResult:
        member = lock_member(session, member_id)
        if points > 0:
            entry = credit(
                session,
                member=member,
                amount=points,
                kind="adjust",
                source="admin",
                reason=reason,
                actor=actor,
                key=f"adjust:{key}",
                now=now,
                programme=programme,
            )
        else:
            entry = debit(
                session,
                member=member,
                amount=-points,
                kind="adjust",
                source="admin",
                reason=reason,
                actor=actor,
                key=f"adjust:{key}",
                now=now,
            )
        log_event(
            session,
            member=member,
            channel=channel,
            type="points_adjusted",
            now=now,
            payload={"points": points, "reason": reason[:100], "actor": actor},
        )
        session.flush()
        return PointsResult(
            member_id=member_id,
            entry_id=entry.id or 0,
            amount=points,
            balance=member.points_balance,
            spendable=spendable(member),
        )

    return run_once(
        session,
        key=f"adjust:{key}" if idempotency_key else None,
        operation="adjust_points",
        request={"member_id": member_id, "points": points, "reason": reason},
        result_type=PointsResult,
        now=now,
        work=work,
    )


def expire_points(session: Session, *, clock: Clock, limit: int = 500) -> PointsRunResult:
    """Write expiry entries for lots past their date, oldest first, for up to `limit` members.
    Each lot expires once (its key is the lot's id); run again until it returns 0 members."""
    now = clock.now()

    def work() -> PointsRunResult:
        member_ids = session.exec(
            select(LedgerEntry.member_id)
            .where(LedgerEntry.remaining > 0, col(LedgerEntry.expires_at) <= now)
            .distinct()
            .order_by(col(LedgerEntry.member_id))
            .limit(limit)
        ).all()
        total = 0
        for member_id in member_ids:
            member = lock_member(session, member_id, allow_erased=True)
            release_due(session, member=member, now=now)
            total += expire_due(session, member=member, now=now)
            log_event(session, member=member, channel="system", type="points_expired", now=now)
        return PointsRunResult(members=len(member_ids), points=total)

    return run_once(
        session,
        key=None,
        operation="expire_points",
        request={},
        result_type=PointsRunResult,
        now=now,
        work=work,
    )


def release_pending_points(session: Session, *, clock: Clock, limit: int = 500) -> PointsRunResult:
    """Make purchase points spendable once their return window has passed."""
    now = clock.now()

    def work() -> PointsRunResult:
        member_ids = session.exec(
            select(LedgerEntry.member_id)
            .where(col(LedgerEntry.pending).is_(True), col(LedgerEntry.available_at) <= now)
            .distinct()
            .order_by(col(LedgerEntry.member_id))
            .limit(limit)
        ).all()
        total = 0
        for member_id in member_ids:
            member = lock_member(session, member_id, allow_erased=True)
            released = release_due(session, member=member, now=now)
            total += released
            if released:
                log_event(
                    session,
                    member=member,
                    channel="system",
                    type="points_released",
                    now=now,
                    payload={"points": released},
                )
        return PointsRunResult(members=len(member_ids), points=total)

    return run_once(
        session,
        key=None,
        operation="release_pending_points",
        request={},
        result_type=PointsRunResult,
        now=now,
        work=work,
    )


def points_expiring(
    session: Session, *, now: datetime, within_days: int, member_id: int | None = None
) -> list[ExpiringPoints]:
    """Per member, the points that expire within `within_days` (for warnings and /points)."""
    horizon = now + timedelta(days=within_days)
    query = (
        select(
            LedgerEntry.member_id,
            sa.func.sum(LedgerEntry.remaining),
            sa.func.min(LedgerEntry.expires_at),
        )
        .join(Member, col(Member.id) == LedgerEntry.member_id)
        .where(
            LedgerEntry.remaining > 0,
            col(LedgerEntry.expires_at) > now,
            col(LedgerEntry.expires_at) <= horizon,
            col(Member.erased_at).is_(None),
        )
        .group_by(col(LedgerEntry.member_id))
        .order_by(col(LedgerEntry.member_id))
    )
    if member_id is not None:
        query = query.where(LedgerEntry.member_id == member_id)
    return [
        ExpiringPoints(member_id=m, points=int(p), first_expiry=e)
        for m, p, e in session.exec(query).all()
    ]
