"""Checking the points ledger's invariants, and counting rows, from tests."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from core.kernel import Database
from core.models import (
    Event,
    IdempotencyRecord,
    LedgerEntry,
    Member,
    Purchase,
    QualifyingEntry,
    Refund,
    StageEntry,
    TierChange,
)

# The tables a points, purchase or refund use case writes to.
WRITTEN_BY_POINTS = (
    Member,
    LedgerEntry,
    Purchase,
    Refund,
    Event,
    IdempotencyRecord,
    QualifyingEntry,
    TierChange,
    StageEntry,
)


def ledger_problems(session: Session, member_id: int) -> list[str]:
    """What is wrong with one member's points, as sentences; empty when all is well.

    The cached balance equals the sum of the ledger and the sum of what is left of the
    lots; it is never negative; pending points are what is left of the pending lots and
    never more than the balance; every lot holds between 0 and its own amount."""
    member = session.exec(
        select(Member).where(Member.id == member_id).execution_options(populate_existing=True)
    ).one()
    entries = session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.member_id == member_id)
        .execution_options(populate_existing=True)
    ).all()
    ledger_sum = sum(entry.amount for entry in entries)
    lots = [entry for entry in entries if entry.amount > 0]
    lots_left = sum(lot.remaining for lot in lots)
    pending_left = sum(lot.remaining for lot in lots if lot.pending)
    balance, pending = member.points_balance, member.points_pending
    problems = []
    if balance != ledger_sum:
        problems.append(f"balance {balance} != ledger sum {ledger_sum}")
    if balance != lots_left:
        problems.append(f"balance {balance} != lots remaining {lots_left}")
    if balance < 0:
        problems.append(f"balance {balance} < 0")
    if pending != pending_left:
        problems.append(f"pending {pending} != pending lots remaining {pending_left}")
    if not 0 <= pending <= max(balance, 0):
        problems.append(f"pending {pending} outside 0..balance {balance}")
    for entry in entries:
        if entry.amount > 0 and not 0 <= entry.remaining <= entry.amount:
            problems.append(f"lot {entry.id}: remaining {entry.remaining} of {entry.amount}")
        if entry.amount < 0 and (entry.remaining != 0 or entry.pending):
            problems.append(f"debit {entry.id} holds points ({entry.remaining}, {entry.pending})")
    return [f"member {member_id}: {problem}" for problem in problems]


def assert_ledger_invariants(db: Database, member_ids: Iterable[int]) -> None:
    with db.session() as session:
        problems = [p for member_id in member_ids for p in ledger_problems(session, member_id)]
    assert not problems, "\n".join(problems)


def balances(db: Database, member_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(balance, pending) per member, fresh from the database."""
    with db.session() as session:
        return {
            member_id: (member.points_balance, member.points_pending)
            for member_id in member_ids
            if (member := session.get(Member, member_id)) is not None
        }


def row_counts(
    db: Database, tables: Iterable[type[SQLModel]] = WRITTEN_BY_POINTS
) -> dict[str, int]:
    """How many rows each table holds."""
    with db.session() as session:
        return {
            model.__tablename__: session.exec(  # type: ignore[attr-defined]
                select(sa.func.count()).select_from(model)
            ).one()
            for model in tables
        }
