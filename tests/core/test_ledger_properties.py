"""Property: after any sequence of points operations, every member's ledger adds up.

Each example draws a programme and a list of operations on two or three fresh members, runs
them one use case (one session) at a time, and after every step checks the invariants of
tests.support.ledger. An operation the programme refuses (a DomainError it may raise) must
change nothing. To test another use case, add an operation class with `apply` and its
strategy to OPERATIONS.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.coupons import claim_coupon, redeem_coupon, sync_coupon_definitions
from core.kernel import (
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponLimitReached,
    Database,
    DomainError,
    IdempotencyConflict,
    InsufficientPoints,
    PurchaseNotFound,
    RefundExceedsPurchase,
)
from core.kernel.clock import FixedClock
from core.models import CouponGrant, Event, IdempotencyRecord, LedgerEntry, Purchase, Refund
from core.points import adjust_points, expire_points, release_pending_points
from core.points.actions import spend_points
from core.programme import CouponRule, Earn, Expiry, Programme, defaults
from core.purchases import record_purchase, refund_purchase
from tests.conftest import START
from tests.support.ledger import assert_ledger_invariants, balances, row_counts
from tests.support.members import new_member

COUNTED = (LedgerEntry, Purchase, Refund, Event, IdempotencyRecord, CouponGrant)


@dataclass
class World:
    """One example's members, clock and programme; names are unique to the example, so
    examples share a database without seeing each other."""

    db: Database
    clock: FixedClock
    programme: Programme
    members: list[int]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    first_results: dict[str, Any] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)  # coupon codes claimed so far

    def member(self, index: int) -> int:
        return self.members[index % len(self.members)]

    def name(self, kind: str, index: int) -> str:
        return f"{self.run}-{kind}{index}"

    def balance(self, index: int) -> int:
        return balances(self.db, [self.member(index)])[self.member(index)][0]

    def expired(self, index: int) -> int:
        """Points of this member expired so far (a spend expires lots past their date)."""
        with self.db.reader() as session:
            amounts = session.exec(
                select(LedgerEntry.amount).where(
                    LedgerEntry.member_id == self.member(index), LedgerEntry.kind == "expire"
                )
            ).all()
        return -sum(amounts)

    def run_jobs(self) -> None:
        """The scheduled jobs, run until they have nothing left to do."""
        for job in (release_pending_points, expire_points):
            while True:
                with self.db.session() as session:
                    if job(session, clock=self.clock).members == 0:
                        break


@dataclass(frozen=True)
class RecordPurchase:
    member: int
    amount: str
    order: int
    refusals: ClassVar[tuple[type[DomainError], ...]] = (IdempotencyConflict,)

    def apply(self, world: World) -> None:
        order_id = world.name("order", self.order)
        with world.db.session() as session:
            result = record_purchase(
                session,
                clock=world.clock,
                programme=world.programme,
                member_id=world.member(self.member),
                amount=self.amount,
                order_id=order_id,
            )
        first = world.first_results.setdefault(order_id, result)
        assert result == first, "a repeated order id returns the first result"


@dataclass(frozen=True)
class RefundPurchase:
    order: int
    amount: str | None
    key: int | None
    refusals: ClassVar[tuple[type[DomainError], ...]] = (
        PurchaseNotFound,
        RefundExceedsPurchase,
        IdempotencyConflict,
    )

    def apply(self, world: World) -> None:
        with world.db.session() as session:
            result = refund_purchase(
                session,
                clock=world.clock,
                programme=world.programme,
                order_id=world.name("order", self.order),
                amount=self.amount,
                refund_key=world.name("refund", self.key) if self.key is not None else None,
            )
        assert result.points_reversed >= 0 and result.points_shortfall >= 0


@dataclass(frozen=True)
class SpendPoints:
    member: int
    points: int
    key: int | None
    refusals: ClassVar[tuple[type[DomainError], ...]] = (InsufficientPoints, IdempotencyConflict)

    def apply(self, world: World) -> None:
        key = world.name("spend", self.key) if self.key is not None else None
        before, expired = world.balance(self.member), world.expired(self.member)
        with world.db.session() as session:
            result = spend_points(
                session,
                clock=world.clock,
                member_id=world.member(self.member),
                points=self.points,
                reason="property test",
                idempotency_key=key,
            )
        expired = world.expired(self.member) - expired
        _check_delta(world, key, result, before - expired, after=world.balance(self.member))


@dataclass(frozen=True)
class AdjustPoints:
    member: int
    points: int
    key: int | None
    refusals: ClassVar[tuple[type[DomainError], ...]] = (InsufficientPoints, IdempotencyConflict)

    def apply(self, world: World) -> None:
        key = world.name("adjust", self.key) if self.key is not None else None
        before, expired = world.balance(self.member), world.expired(self.member)
        with world.db.session() as session:
            result = adjust_points(
                session,
                clock=world.clock,
                programme=world.programme,
                member_id=world.member(self.member),
                points=self.points,
                reason="property test",
                actor="staff",
                idempotency_key=key,
            )
        expired = world.expired(self.member) - expired
        _check_delta(world, key, result, before - expired, after=world.balance(self.member))


def _check_delta(world: World, key: str | None, result: Any, before: int, after: int) -> None:
    """A first run moves the balance by exactly its amount (`before` leaves out points that
    expired on the way); a repeat returns the first result and moves nothing."""
    if key is not None and key in world.first_results:
        assert result == world.first_results[key]
        assert after == before
        return
    if key is not None:
        world.first_results[key] = result
    assert after == before + result.amount == result.balance


@dataclass(frozen=True)
class PassTime:
    days: int
    run_jobs: bool
    refusals: ClassVar[tuple[type[DomainError], ...]] = ()

    def apply(self, world: World) -> None:
        world.clock.advance(days=self.days)
        if self.run_jobs:
            world.run_jobs()


@dataclass(frozen=True)
class ClaimCoupon:
    """Claim the coupon that costs points (a spend through the coupon use case)."""

    member: int
    key: int | None
    refusals: ClassVar[tuple[type[DomainError], ...]] = (
        InsufficientPoints,
        CouponLimitReached,
        IdempotencyConflict,
    )

    def apply(self, world: World) -> None:
        key = world.name("claim", self.key) if self.key is not None else None
        before, expired = world.balance(self.member), world.expired(self.member)
        with world.db.session() as session:
            result = claim_coupon(
                session,
                clock=world.clock,
                programme=world.programme,
                member_id=world.member(self.member),
                coupon_code=PAID_COUPON.code,
                channel="console",
                idempotency_key=key,
            )
        world.codes.append(result.code)
        after = world.balance(self.member)
        expired = world.expired(self.member) - expired
        if key is not None and key in world.first_results:
            assert result == world.first_results[key] and after == before
            return
        if key is not None:
            world.first_results[key] = result
        assert after == before - expired - PAID_COUPON.points_cost == result.balance


@dataclass(frozen=True)
class RedeemCoupon:
    """Staff redeem one of the claimed codes at the counter (points do not move)."""

    index: int
    refusals: ClassVar[tuple[type[DomainError], ...]] = (CouponAlreadyRedeemed, CouponExpired)

    def apply(self, world: World) -> None:
        if not world.codes:
            return
        with world.db.session() as session:
            redeem_coupon(
                session,
                clock=world.clock,
                programme=world.programme,
                code=world.codes[self.index % len(world.codes)],
                actor="staff",
                channel="console",
            )


MEMBER = st.integers(0, 2)
KEY = st.none() | st.integers(0, 2)
OPERATIONS: list[st.SearchStrategy[Any]] = [
    st.builds(
        RecordPurchase,
        member=MEMBER,
        amount=st.sampled_from(["0.99", "1", "35", "99.50", "120", "480", "1000", "5200"]),
        order=st.integers(0, 5),
    ),
    st.builds(
        RefundPurchase,
        order=st.integers(0, 5),
        amount=st.none() | st.sampled_from(["0.50", "1", "33.30", "100", "250", "2000"]),
        key=KEY,
    ),
    st.builds(SpendPoints, member=MEMBER, points=st.integers(1, 1500), key=KEY),
    st.builds(
        AdjustPoints,
        member=MEMBER,
        points=st.integers(-800, -1) | st.integers(1, 800),
        key=KEY,
    ),
    st.builds(
        PassTime, days=st.sampled_from([0, 1, 3, 10, 31, 95, 200, 370]), run_jobs=st.booleans()
    ),
    st.builds(ClaimCoupon, member=MEMBER, key=KEY),
    st.builds(RedeemCoupon, index=st.integers(0, 5)),
]

PAID_COUPON = CouponRule(
    code="POINTS100",
    title="100 points",
    kind="gift",
    points_cost=100,
    per_member_limit=20,
    valid_days=30,
)

PROGRAMMES = st.builds(
    lambda pending_days, months, min_amount: Programme(
        pending_days=pending_days,
        expiry=Expiry(months=months),
        earn=Earn(min_amount=min_amount),
        coupons=[*defaults.coupons(), PAID_COUPON],
    ),
    pending_days=st.sampled_from([0, 0, 7, 30, 120]),  # 120 > 3 months: expires pending
    months=st.sampled_from([12, 12, 3, 0]),
    min_amount=st.sampled_from([0, 0, 50]),
)


def run_and_check(world: World, operation: Any) -> None:
    """Apply one operation; a refusal must leave everything as it was."""
    counts = row_counts(world.db, COUNTED)
    held = balances(world.db, world.members)
    try:
        operation.apply(world)
    except operation.refusals:
        assert row_counts(world.db, COUNTED) == counts, f"{operation} was refused but wrote"
        assert balances(world.db, world.members) == held
    assert_ledger_invariants(world.db, world.members)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    programme=PROGRAMMES,
    member_count=st.integers(2, 3),
    operations=st.lists(st.one_of(OPERATIONS), min_size=1, max_size=15),
)
def test_every_ledger_adds_up_after_any_sequence_of_operations(
    db: Database, programme: Programme, member_count: int, operations: list[Any]
) -> None:
    clock = FixedClock(START)
    with db.session() as session:
        sync_coupon_definitions(session, clock=clock, programme=programme)
    run = uuid.uuid4().hex[:10]
    members = [new_member(db, clock, programme, f"{run}-{index}") for index in range(member_count)]
    world = World(db=db, clock=clock, programme=programme, members=members, run=run)
    for operation in operations:
        run_and_check(world, operation)
    world.run_jobs()
    assert_ledger_invariants(db, members)


def test_the_operations_reach_every_outcome_they_are_meant_to(db: Database) -> None:
    """A fixed sequence through the same machinery: refusals, shortfalls, pending, expiry."""
    programme = Programme(pending_days=7)
    clock = FixedClock(START)
    members = [new_member(db, clock, programme, f"fixed-{index}") for index in range(2)]
    world = World(db=db, clock=clock, programme=programme, members=members)
    for operation in (
        RecordPurchase(member=0, amount="480", order=0),
        SpendPoints(member=0, points=10, key=None),  # refused: the points are pending
        PassTime(days=8, run_jobs=True),
        SpendPoints(member=0, points=400, key=0),
        SpendPoints(member=0, points=400, key=0),  # a repeat
        SpendPoints(member=1, points=400, key=0),  # the same key for another request
        RefundPurchase(order=0, amount=None, key=None),  # 80 reversed, 400 short
        RefundPurchase(order=9, amount=None, key=None),  # unknown order
        AdjustPoints(member=1, points=300, key=1),
        AdjustPoints(member=1, points=-301, key=None),  # refused: not enough
        PassTime(days=370, run_jobs=True),  # everything left expires
        RecordPurchase(member=1, amount="1000", order=1),
        RecordPurchase(member=0, amount="1000", order=1),  # the order id of another member
    ):
        run_and_check(world, operation)
    assert balances(db, members) == {members[0]: (0, 0), members[1]: (1000, 1000)}
    assert world.first_results[world.name("order", 1)].points == 1000
    assert Decimal(world.first_results[world.name("order", 0)].amount) == Decimal(480)


def test_the_coupon_operations_claim_with_points_and_redeem_once(db: Database) -> None:
    programme = Programme(coupons=[*defaults.coupons(), PAID_COUPON])
    clock = FixedClock(START)
    with db.session() as session:
        sync_coupon_definitions(session, clock=clock, programme=programme)
    members = [new_member(db, clock, programme, f"coupon-{index}") for index in range(2)]
    world = World(db=db, clock=clock, programme=programme, members=members)
    for operation in (
        ClaimCoupon(member=0, key=None),  # refused: no points yet
        RecordPurchase(member=0, amount="250", order=0),
        ClaimCoupon(member=0, key=0),
        ClaimCoupon(member=0, key=0),  # a repeat: the same coupon, no second charge
        ClaimCoupon(member=0, key=None),
        RedeemCoupon(index=0),
        RedeemCoupon(index=0),  # refused: already redeemed
        PassTime(days=40, run_jobs=True),
        RedeemCoupon(index=1),  # refused: expired
    ):
        run_and_check(world, operation)
    assert balances(db, members)[members[0]] == (50, 0)  # (balance, pending)
    assert len(world.codes) == 3 and len(set(world.codes)) == 2
    with db.reader() as session:
        statuses = sorted(grant.status for grant in session.exec(select(CouponGrant)).all())
    assert statuses == ["active", "redeemed"]  # past its date: refused, the coupon job expires it
