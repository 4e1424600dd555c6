"""Points under real concurrency: threads, each with its own session, on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from core.kernel import Database, DomainError, InsufficientPoints, RefundExceedsPurchase, add_months
from core.kernel.clock import FixedClock
from core.members import register_contact, sign_up
from core.models import (
    FunnelDaily,
    IdempotencyRecord,
    LedgerEntry,
    Member,
    Purchase,
    Refund,
    TierChange,
)
from core.points import adjust_points, expire_points, release_pending_points
from core.points.actions import spend_points
from core.programme import Programme
from core.programme.sections import Caps
from core.purchases import record_purchase, refund_purchase
from tests.conftest import START
from tests.support.ledger import assert_ledger_invariants, balances
from tests.support.members import new_member


def all_at_once(db: Database, calls: list[Callable[[Any], Any]]) -> list[Any]:
    """Run each call in its own thread and session, released together; returns what each
    returned or raised, in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[Any], Any]) -> Any:
        start.wait()
        try:
            with db.session() as session:
                return call(session)
        except Exception as exc:  # noqa: BLE001 - the test sorts outcomes out
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def grant(db: Database, clock: FixedClock, programme: Programme, member_id: int, points: int):
    with db.session() as session:
        return adjust_points(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            points=points,
            reason="opening balance",
            actor="test",
        )


def test_fifty_concurrent_spends_of_ten_against_a_hundred_succeed_exactly_ten_times(
    db, clock, programme
):
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)

    def spend(session):
        return spend_points(session, clock=clock, member_id=member_id, points=10, reason="latte")

    outcomes = all_at_once(db, [spend] * 50)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"PointsResult": 10, "InsufficientPoints": 40}
    assert sorted(o.balance for o in outcomes if not isinstance(o, Exception)) == list(
        range(0, 100, 10)
    )
    assert balances(db, [member_id]) == {member_id: (0, 0)}
    with db.session() as session:
        spends = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "spend")).all()
    assert len(spends) == 10
    assert_ledger_invariants(db, [member_id])


def test_twenty_concurrent_recordings_of_one_order_make_one_purchase(db, clock, programme):
    member_id = new_member(db, clock, programme)

    def purchase(session):
        return record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="250",
            order_id="POS-RACE",
        )

    outcomes = all_at_once(db, [purchase] * 20)

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert errors == []
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert outcomes[0].points == 250
    with db.session() as session:
        assert len(session.exec(select(Purchase)).all()) == 1
        earned = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "earn")).all()
        assert [entry.amount for entry in earned] == [250]
        records = session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "purchase:POS-RACE")
        ).all()
        assert len(records) == 1
    assert balances(db, [member_id]) == {member_id: (250, 0)}
    assert_ledger_invariants(db, [member_id])


def test_concurrent_spends_purchases_refunds_and_jobs_keep_every_ledger_whole(db, clock):
    programme = Programme(pending_days=7)
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    # A year ago: grants that are now expiring, and purchases whose points are pending
    # until a week after they were made (so now released).
    for member_id in (alice, bob):
        grant(db, clock, programme, member_id, 300)
    for index in range(6):
        with db.session() as session:
            record_purchase(
                session,
                clock=clock,
                programme=programme,
                member_id=(alice, bob)[index % 2],
                amount="200",
                order_id=f"OLD-{index}",
            )
    clock.set(add_months(START, 12) - timedelta(days=1))
    for member_id in (alice, bob):
        grant(db, clock, programme, member_id, 500)
    clock.set(add_months(START, 12) + timedelta(hours=1))
    members = (alice, bob)

    calls: list[Callable[[Any], Any]] = []
    for index in range(12):
        member_id = members[index % 2]
        calls.append(
            lambda s, m=member_id, i=index: spend_points(
                s, clock=clock, member_id=m, points=40 + i, reason="mix"
            )
        )
        calls.append(
            lambda s, m=member_id, i=index: record_purchase(
                s,
                clock=clock,
                programme=programme,
                member_id=m,
                amount="120",
                order_id=f"NEW-{i % 8}",  # some orders recorded twice at once
            )
        )
    for index in range(6):
        calls.append(
            lambda s, i=index: refund_purchase(
                s, clock=clock, programme=programme, order_id=f"OLD-{i}"
            )
        )
        calls.append(
            lambda s, i=index: refund_purchase(
                s, clock=clock, programme=programme, order_id=f"OLD-{i}", amount="50"
            )
        )
    calls.append(lambda s: refund_purchase(s, clock=clock, programme=programme, order_id="OLD-0"))
    for _ in range(2):
        calls.append(lambda s: expire_points(s, clock=clock))
        calls.append(lambda s: release_pending_points(s, clock=clock))
    calls.append(
        lambda s: adjust_points(
            s, clock=clock, programme=programme, member_id=bob, points=-30, reason="x", actor="t"
        )
    )

    outcomes = all_at_once(db, calls)

    unexpected = [
        outcome
        for outcome in outcomes
        if isinstance(outcome, Exception)
        and not isinstance(outcome, InsufficientPoints | RefundExceedsPurchase)
    ]
    assert unexpected == []
    assert_ledger_invariants(db, members)
    with db.session() as session:
        assert len(session.exec(select(Purchase)).all()) == 6 + 8
        refunds = session.exec(select(Refund)).all()
        # Per old order: the full refund and the 50 each land once, in some order, unless
        # the full one came first and left nothing for the partial one.
        assert {refund.refund_key for refund in refunds} >= {f"OLD-{i}:full" for i in range(6)}
        left = session.exec(
            select(LedgerEntry).where(
                col(LedgerEntry.remaining) > 0,
                col(LedgerEntry.expires_at) <= clock.now(),
            )
        ).all()
        assert left == [], "the expiry jobs left due lots behind"
    for outcome in outcomes:
        assert not isinstance(outcome, DomainError) or outcome.message


def test_concurrent_spends_with_one_idempotency_key_spend_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)

    def spend(session):
        return spend_points(
            session,
            clock=clock,
            member_id=member_id,
            points=30,
            reason="latte",
            idempotency_key="till-7:receipt-123",
        )

    outcomes = all_at_once(db, [spend] * 10)

    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert outcomes[0].balance == 70
    assert balances(db, [member_id]) == {member_id: (70, 0)}
    assert_ledger_invariants(db, [member_id])


def test_concurrent_sign_ups_with_one_invite_code_respect_the_referrers_daily_cap(db, clock):
    programme = Programme(caps=Caps(activity_points_per_day=250))
    referrer = new_member(db, clock, programme, "ann")
    with db.session() as session:
        code = session.get(Member, referrer).invite_code
    invitees = [new_member(db, clock, programme, f"friend{i}", signed_up=False) for i in range(6)]

    def join(member_id):
        return lambda session: sign_up(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            consent_version=programme.consent.version,
            channel="telegram",
            invite_code=code,
        )

    outcomes = all_at_once(db, [join(member_id) for member_id in invitees])

    assert [type(outcome).__name__ for outcome in outcomes] == ["SignUpResult"] * 6
    assert balances(db, [referrer]) == {referrer: (250, 0)}
    assert balances(db, invitees) == {member_id: (50, 0) for member_id in invitees}
    assert_ledger_invariants(db, [referrer, *invitees])


def test_concurrent_first_contacts_from_one_user_make_one_member(db, clock, programme):
    def contact(session):
        return register_contact(
            session, clock=clock, programme=programme, channel="line", platform_user_id="U42"
        )

    outcomes = all_at_once(db, [contact] * 10)

    assert {type(outcome).__name__ for outcome in outcomes} == {"ContactResult"}
    assert len({outcome.member_id for outcome in outcomes}) == 1
    assert sum(outcome.new for outcome in outcomes) == 1
    with db.session() as session:
        assert len(session.exec(select(Member)).all()) == 1
        assert session.exec(select(FunnelDaily)).one().entered == 1


def test_concurrent_purchases_crossing_a_threshold_upgrade_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session, clock=clock, programme=programme, member_id=member_id, amount=4_500
        )

    def purchase(index):
        return lambda session: record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount=1_000,
            order_id=f"P{index}",
        )

    outcomes = all_at_once(db, [purchase(index) for index in range(5)])

    assert [o.upgraded_to for o in outcomes if o.upgraded_to] == ["silver"]
    with db.session() as session:
        upgrades = session.exec(select(TierChange).where(TierChange.reason == "upgrade")).all()
    assert [change.to_tier for change in upgrades] == ["silver"]
    assert_ledger_invariants(db, [member_id])
