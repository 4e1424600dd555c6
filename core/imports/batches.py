"""Recording checked import rows: members found or enrolled by the brand's reference, then
`record_purchase` for each new order id, a batch of rows per transaction.

Each row goes through the same use cases as a sale at the counter, so points, stages, tiers
and the stats counters follow the one set of rules. Batching only changes where the commit
falls: while a batch runs, the use cases' commit flushes, and the batch applies their
counter increments, merged, and commits once (core.kernel.uow.DEFER_COMMIT). When
a use case refuses a row (which rolls its transaction back), the batch is replayed a row at
a time, so the other rows still import and nothing of the refused row is written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from core.imports.rows import ImportReport, PurchaseRow, RowProblem
from core.kernel import (
    DEFER_COMMIT,
    Clock,
    Database,
    DomainError,
    IdempotencyConflict,
    MemberExists,
    as_utc,
    commit,
)
from core.members import enrol_member
from core.models import IdempotencyRecord, Member, Purchase
from core.programme import Programme
from core.purchases import record_purchase

BATCH_ROWS = 500
Details = tuple[str | None, int, datetime, str | None]  # member ref, cents, time, category


class _BatchSession(Session):
    """A session whose use cases share the batch's transaction (see the module docstring):
    their commits only flush, and a rollback by any of them is noted."""

    rolled_back = False

    @property
    def batching(self) -> bool:
        return bool(self.info.get(DEFER_COMMIT))

    @batching.setter
    def batching(self, on: bool) -> None:
        self.info[DEFER_COMMIT] = on

    def rollback(self) -> None:
        if self.batching:
            self.rolled_back = True
        super().rollback()


@dataclass(frozen=True)
class _Context:
    clock: Clock
    programme: Programme
    award_points: bool
    actor: str


def import_rows(
    database: Database,
    *,
    clock: Clock,
    programme: Programme,
    rows: Iterable[PurchaseRow | RowProblem],
    award_points: bool = False,
    actor: str = "import",
    batch_rows: int = BATCH_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import checked rows (core.imports.read_rows): malformed ones are only counted; an
    order id already recorded with the same details counts as repeated, with other details
    as a conflict; both change nothing. `on_progress` gets the number of rows done."""
    report = ImportReport()
    context = _Context(clock, programme, award_points, actor)
    with _BatchSession(database.engine, expire_on_commit=False) as session:
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, batch_rows)):
            good = [row for row in chunk if isinstance(row, PurchaseRow)]
            report.malformed.extend(row for row in chunk if isinstance(row, RowProblem))
            if good:
                _import_chunk(session, good, report, context)
            if on_progress is not None:
                on_progress(len(chunk))
    return report


def _import_chunk(
    session: _BatchSession, rows: list[PurchaseRow], report: ImportReport, context: _Context
) -> None:
    tally = ImportReport()
    if _attempt(session, rows, tally, context):
        _merge(report, tally)
        return
    for row in rows:  # something was refused: each row on its own, to find which
        single = ImportReport()
        _attempt(session, [row], single, context)
        _merge(report, single)


def _attempt(
    session: _BatchSession, rows: list[PurchaseRow], tally: ImportReport, context: _Context
) -> bool:
    """Record `rows` in one transaction. False (and nothing written) when a use case refused
    one; for a single row the refusal is then in `tally.malformed`."""
    session.batching, session.rolled_back = True, False
    try:
        known = _recorded_orders(session, [row.order_id for row in rows])
        members, erased = _members(session, {row.member_ref for row in rows})
        for row in rows:
            if row.order_id in known:
                _compare(row, known[row.order_id], tally)
            elif row.member_ref in erased:
                tally.conflicts.append(
                    RowProblem(row.line, "the member reference belonged to an erased member")
                )
            else:
                _record(session, row, members, tally, context)
                known[row.order_id] = (row.member_ref, _cents(row), row.occurred_at, row.category)
            if session.rolled_back:  # a use case retried after a race: replay to be sure
                raise _Refused(row, "the database changed meanwhile; try the file again")
        session.batching = False
        commit(session)
        return True
    except _Refused as refused:
        session.batching = False
        session.rollback()
        if len(rows) == 1:
            tally.imported = tally.repeated = tally.members_created = 0
            tally.conflicts.clear()
            problems = tally.conflicts if refused.conflict else tally.malformed
            problems.append(RowProblem(refused.row.line, refused.reason))
        return False
    finally:
        session.batching = False
        session.expunge_all()  # a long file must not pile up every row's objects


class _Refused(Exception):
    def __init__(self, row: PurchaseRow, reason: str, *, conflict: bool = False) -> None:
        super().__init__(reason)
        self.row, self.reason, self.conflict = row, reason, conflict


def _record(
    session: _BatchSession,
    row: PurchaseRow,
    members: dict[str, int],
    tally: ImportReport,
    context: _Context,
) -> None:
    try:
        if row.member_ref not in members:
            enrolled = enrol_member(
                session,
                clock=context.clock,
                programme=context.programme,
                external_ref=row.member_ref,
                channel="import",
            )
            members[row.member_ref] = enrolled.member_id
            tally.members_created += 1
        record_purchase(
            session,
            clock=context.clock,
            programme=context.programme,
            member_id=members[row.member_ref],
            amount=row.amount,
            order_id=row.order_id,
            occurred_at=row.occurred_at,
            category=row.category,
            source="import",
            actor=context.actor,
            channel="import",
            award_points=context.award_points,
        )
    except (IdempotencyConflict, MemberExists) as exc:
        raise _Refused(row, exc.message, conflict=True) from None
    except DomainError as exc:
        raise _Refused(row, exc.message) from None
    tally.imported += 1


def _compare(row: PurchaseRow, details: Details, tally: ImportReport) -> None:
    ref, cents, at, category = details
    differences = []
    if ref != row.member_ref:
        differences.append("another member")
    if cents != _cents(row):
        differences.append(f"amount {cents / 100:.2f}")
    if as_utc(at) != row.occurred_at:
        differences.append(f"time {as_utc(at).isoformat()}")
    if (category or None) != row.category:
        differences.append(f"category {category or '(none)'}")
    if not differences:
        tally.repeated += 1
        return
    tally.conflicts.append(
        RowProblem(
            row.line,
            f"order {row.order_id} is already recorded with {', '.join(differences)}",
        )
    )


def _recorded_orders(session: Session, order_ids: list[str]) -> dict[str, Details]:
    purchase: sa.Table = Purchase.__table__  # type: ignore[attr-defined]
    member: sa.Table = Member.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(
            purchase.c.order_id,
            member.c.external_ref,
            purchase.c.amount_cents,
            purchase.c.occurred_at,
            purchase.c.category,
        )
        .join(member, member.c.id == purchase.c.member_id)
        .where(purchase.c.order_id.in_(set(order_ids)))
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in session.execute(statement)}


def _members(session: Session, refs: set[str]) -> tuple[dict[str, int], set[str]]:
    """Members by reference, and the references that belonged to members since erased
    (enrolled once, so the enrolment's idempotency record remains, but no member has them)."""
    member: sa.Table = Member.__table__  # type: ignore[attr-defined]
    found: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(member.c.external_ref, member.c.id).where(member.c.external_ref.in_(refs))
        ).all()
    )
    missing = {f"enrol:{ref}": ref for ref in refs - set(found)}
    record: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    erased = {
        missing[key]
        for key in session.execute(
            sa.select(record.c.key).where(record.c.key.in_(list(missing)))
        ).scalars()
    }
    return found, erased


def _cents(row: PurchaseRow) -> int:
    return int(row.amount * 100)


def _merge(report: ImportReport, tally: ImportReport) -> None:
    report.imported += tally.imported
    report.repeated += tally.repeated
    report.members_created += tally.members_created
    report.conflicts.extend(tally.conflicts)
    report.malformed.extend(tally.malformed)
