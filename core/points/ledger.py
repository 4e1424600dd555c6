"""The points ledger's primitives, used inside use cases that hold the member's row lock.

Every positive entry is a lot (`remaining`, `expires_at`, `pending`); spends, expiry and
reversals draw lots down oldest first, so the sum of remaining equals the cached balance.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel import (
    MAX_INT,
    InsufficientPoints,
    InvalidInput,
    MemberErased,
    MemberNotFound,
    add_months,
    local_day,
    start_of_local_day,
)
from core.models import LedgerEntry, Member
from core.programme import Programme

ACTIVITY_SOURCES = ("checkin", "referral", "survey")


def lock_member(session: Session, member_id: int, *, allow_erased: bool = False) -> Member:
    """The member's row, locked for the rest of the transaction (all ledger changes of one
    member queue here on PostgreSQL; SQLite's IMMEDIATE transactions serialise anyway)."""
    if (
        isinstance(member_id, bool)
        or not isinstance(member_id, int)
        or not 0 < member_id <= MAX_INT
    ):
        raise MemberNotFound("no such member", member_id=str(member_id))
    member = session.exec(
        select(Member)
        .where(Member.id == member_id)
        # FOR NO KEY UPDATE: ledger changes never touch the member's keys, and unlike FOR
        # UPDATE it does not conflict with the key-share locks taken by foreign-key checks.
        # Otherwise two invitees' sign-ups (each inserting a referral that references the
        # referrer, then locking the referrer to reward it) deadlock on the referrer.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)  # the row as of the lock, not a stale copy
    ).one_or_none()
    if member is None:
        raise MemberNotFound("no such member", member_id=member_id)
    if member.erased_at is not None and not allow_erased:
        raise MemberErased("this member's data was erased", member_id=member_id)
    return member


def credit(
    session: Session,
    *,
    member: Member,
    amount: int,
    kind: str,
    source: str,
    reason: str,
    actor: str,
    key: str,
    now: datetime,
    programme: Programme,
    pending_until: datetime | None = None,
    purchase_id: int | None = None,
) -> LedgerEntry:
    """Add a lot of `amount` points; it expires per the programme and may start pending."""
    if amount <= 0:
        raise InvalidInput("points to credit must be positive", amount=amount)
    ensure_room(member, amount)
    months = programme.expiry.months
    pending = pending_until is not None and pending_until > now
    entry = LedgerEntry(
        member_id=member.id or 0,
        amount=amount,
        kind=kind,
        source=source,
        reason=reason[:200],
        actor=actor[:100],
        idempotency_key=key,
        remaining=amount,
        pending=pending,
        available_at=pending_until if pending else now,
        expires_at=add_months(now, months) if months else None,
        purchase_id=purchase_id,
        created_at=now,
    )
    session.add(entry)
    member.points_balance += amount
    if pending:
        member.points_pending += amount
    if kind == "earn":
        member.points_earned_total += amount
    return entry


def ensure_room(member: Member, amount: int) -> None:
    """Refuse a credit that would take the member's points beyond what the columns hold."""
    if max(member.points_balance, member.points_earned_total) + amount > MAX_INT:
        raise InvalidInput("that is more points than a member can hold", amount=amount)


def debit(
    session: Session,
    *,
    member: Member,
    amount: int,
    kind: str,
    source: str,
    reason: str,
    actor: str,
    key: str,
    now: datetime,
    include_pending: bool = False,
    first_lot_id: int | None = None,
) -> LedgerEntry:
    """Take `amount` points from the member's lots, oldest-expiring first.

    Raises InsufficientPoints when the spendable balance does not cover it."""
    if amount <= 0:
        raise InvalidInput("points to debit must be positive", amount=amount)
    if member.points_pending:  # no pending points: no lot to release, skip the query
        release_due(session, member=member, now=now)
    # One read of the open lots: those past their date are gone even if the expiry job has
    # not run yet; the rest are what can be spent.
    lots = _open_lots(session, member.id or 0, include_pending=True)
    expired = [lot for lot in lots if lot.expires_at is not None and lot.expires_at <= now]
    _expire(session, member=member, lots=expired, now=now)
    lots = [lot for lot in lots if lot.remaining > 0 and (include_pending or not lot.pending)]
    if first_lot_id is not None:
        lots.sort(key=lambda lot: lot.id != first_lot_id)
    available = sum(lot.remaining for lot in lots)
    if available < amount:
        raise InsufficientPoints("not enough points", needed=amount, available=spendable(member))
    left = amount
    for lot in lots:
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        if lot.pending:
            member.points_pending -= taken
        left -= taken
        if left == 0:
            break
    entry = LedgerEntry(
        member_id=member.id or 0,
        amount=-amount,
        kind=kind,
        source=source,
        reason=reason[:200],
        actor=actor[:100],
        idempotency_key=key,
        created_at=now,
    )
    session.add(entry)
    member.points_balance -= amount
    return entry


def spendable(member: Member) -> int:
    return member.points_balance - member.points_pending


def release_due(session: Session, *, member: Member, now: datetime) -> int:
    """Make pending lots whose return window has passed spendable; returns points released."""
    lots = session.exec(
        select(LedgerEntry).where(
            LedgerEntry.member_id == member.id,
            col(LedgerEntry.pending).is_(True),
            col(LedgerEntry.available_at) <= now,
        )
    ).all()
    released = 0
    for lot in lots:
        lot.pending = False
        released += lot.remaining
    member.points_pending -= released
    return released


def expire_due(session: Session, *, member: Member, now: datetime) -> int:
    """Write expiry entries for the member's lots past their date, oldest first; each lot
    expires once (its key is the lot's id). Returns the points expired."""
    return _expire(
        session,
        member=member,
        lots=expired_lots(session, member_id=member.id or 0, now=now),
        now=now,
    )


def _expire(session: Session, *, member: Member, lots: list[LedgerEntry], now: datetime) -> int:
    total = 0
    for lot in lots:
        amount = lot.remaining
        if lot.pending:
            member.points_pending -= amount
        lot.remaining = 0
        lot.pending = False
        session.add(
            LedgerEntry(
                member_id=member.id or 0,
                amount=-amount,
                kind="expire",
                source="expiry",
                reason=f"points earned {lot.created_at:%Y-%m-%d} expired",
                actor="system",
                idempotency_key=f"expire:{lot.id}",
                created_at=now,
            )
        )
        member.points_balance -= amount
        total += amount
    return total


def expired_from_lot(session: Session, *, lot_id: int) -> int:
    """Points of one lot that expired (its expiry entry, if any)."""
    entry = session.exec(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == f"expire:{lot_id}")
    ).one_or_none()
    return -entry.amount if entry else 0


def expired_lots(session: Session, *, member_id: int, now: datetime) -> list[LedgerEntry]:
    return list(
        session.exec(
            select(LedgerEntry)
            .where(
                LedgerEntry.member_id == member_id,
                LedgerEntry.remaining > 0,
                col(LedgerEntry.expires_at) <= now,
            )
            .order_by(col(LedgerEntry.expires_at), col(LedgerEntry.id))
        ).all()
    )


def activity_points_today(
    session: Session, *, member: Member, now: datetime, programme: Programme
) -> int:
    """Points the member earned today (their local day) from capped activities."""
    tz = programme.zone
    since = start_of_local_day(local_day(now, tz), tz)
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.member_id == member.id,
            col(LedgerEntry.source).in_(ACTIVITY_SOURCES),
            LedgerEntry.amount > 0,
            LedgerEntry.created_at >= since,
        )
    ).one()
    return int(total)


def capped_activity_points(
    session: Session, *, member: Member, wanted: int, now: datetime, programme: Programme
) -> int:
    """How much of `wanted` activity points the daily cap still allows."""
    room = programme.caps.activity_points_per_day - activity_points_today(
        session, member=member, now=now, programme=programme
    )
    return max(0, min(wanted, room))


def _open_lots(session: Session, member_id: int, *, include_pending: bool) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.member_id == member_id, LedgerEntry.remaining > 0)
    if not include_pending:
        query = query.where(col(LedgerEntry.pending).is_(False))
    # Oldest-expiring first; lots that never expire last; ties by age.
    query = query.order_by(
        col(LedgerEntry.expires_at).is_(None), col(LedgerEntry.expires_at), col(LedgerEntry.id)
    )
    return list(session.exec(query).all())
