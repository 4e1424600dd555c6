"""Repeats and bad input for the points, purchase and refund use cases.

A repeat with the same idempotency key changes nothing and returns the first result; the
same key for another request is a conflict. Bad input raises a domain error and writes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.kernel import (
    Database,
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    MemberErased,
    MemberNotFound,
    PurchaseNotFound,
    RefundExceedsPurchase,
)
from core.kernel.clock import FixedClock
from core.models import FunnelDaily, Member, Referral
from core.points.actions import MAX_POINTS
from core.programme import Programme
from core.programme.sections import Earn
from tests.support.ledger import WRITTEN_BY_POINTS, balances, row_counts
from tests.support.members import new_member
from tests.support.points import buy, grant, refund, spend

TABLES = (*WRITTEN_BY_POINTS, FunnelDaily, Referral)


@dataclass
class Shop:
    """Two members: Ann with 500 granted points and a NT$1,000 purchase "A"; Ben with none."""

    db: Database
    clock: FixedClock
    programme: Programme
    ann: int
    ben: int

    def state(self) -> tuple[dict[str, int], dict[int, tuple[int, int]]]:
        return row_counts(self.db, TABLES), balances(self.db, [self.ann, self.ben])


@pytest.fixture
def shop(db, clock, programme) -> Shop:
    ann = new_member(db, clock, programme, "ann")
    ben = new_member(db, clock, programme, "ben")
    grant(db, clock, programme, ann, 500)
    buy(db, clock, programme, ann, 1_000, "A")
    return Shop(db, clock, programme, ann, ben)


Call = Callable[[Shop], Any]

REPEATABLE: dict[str, tuple[Call, Call]] = {
    "spend": (
        lambda s: spend(s.db, s.clock, s.ann, 30, idempotency_key="k1"),
        lambda s: spend(s.db, s.clock, s.ann, 31, idempotency_key="k1"),
    ),
    "spend, another member": (
        lambda s: spend(s.db, s.clock, s.ann, 30, idempotency_key="k1"),
        lambda s: spend(s.db, s.clock, s.ben, 30, idempotency_key="k1"),
    ),
    "grant": (
        lambda s: grant(s.db, s.clock, s.programme, s.ben, 40, idempotency_key="k2"),
        lambda s: grant(s.db, s.clock, s.programme, s.ben, 41, idempotency_key="k2"),
    ),
    "take back": (
        lambda s: grant(s.db, s.clock, s.programme, s.ann, -40, idempotency_key="k3"),
        lambda s: grant(
            s.db, s.clock, s.programme, s.ann, -40, idempotency_key="k3", reason="other"
        ),
    ),
    "purchase": (
        lambda s: buy(s.db, s.clock, s.programme, s.ann, "120.50", "B"),
        lambda s: buy(s.db, s.clock, s.programme, s.ann, "120.51", "B"),
    ),
    "purchase, another member": (
        lambda s: buy(s.db, s.clock, s.programme, s.ann, 120, "B"),
        lambda s: buy(s.db, s.clock, s.programme, s.ben, 120, "B"),
    ),
    "purchase, another category": (
        lambda s: buy(s.db, s.clock, s.programme, s.ann, 120, "B", category="coffee"),
        lambda s: buy(s.db, s.clock, s.programme, s.ann, 120, "B", category="cake"),
    ),
    "refund with a key": (
        lambda s: refund(s.db, s.clock, s.programme, "A", 100, refund_key="R1"),
        lambda s: refund(s.db, s.clock, s.programme, "A", 200, refund_key="R1"),
    ),
    "full refund": (
        lambda s: refund(s.db, s.clock, s.programme, "A"),
        lambda s: refund(s.db, s.clock, s.programme, "A", 1_000, refund_key="A:full"),
    ),
    "partial refund without a key": (
        lambda s: refund(s.db, s.clock, s.programme, "A", 100),
        lambda s: refund(s.db, s.clock, s.programme, "A", 200, refund_key="A:100.00"),
    ),
}


@pytest.mark.parametrize("case", REPEATABLE, ids=str)
def test_a_repeat_changes_nothing_and_returns_the_first_result(shop: Shop, case: str):
    first_call, conflicting_call = REPEATABLE[case]
    first = first_call(shop)
    shop.clock.advance(minutes=10)
    grant(shop.db, shop.clock, shop.programme, shop.ann, 7)  # the world moves on meanwhile
    before = shop.state()

    again = first_call(shop)

    assert again == first
    assert shop.state() == before


@pytest.mark.parametrize("case", REPEATABLE, ids=str)
def test_the_same_key_for_another_request_is_a_conflict_and_changes_nothing(shop: Shop, case: str):
    first_call, conflicting_call = REPEATABLE[case]
    first_call(shop)
    before = shop.state()

    with pytest.raises(IdempotencyConflict) as conflict:
        conflicting_call(shop)

    assert conflict.value.message
    assert shop.state() == before


FUTURE = timedelta(hours=1)

BAD_INPUT: dict[str, tuple[type[DomainError], Call]] = {
    "spend -5": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, -5)),
    "spend 0": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, 0)),
    "spend 1.5": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, 1.5)),
    "spend 10.0": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, 10.0)),
    "spend '10'": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, "10")),
    "spend True": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, True)),
    "spend None": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, None)),
    "spend too many": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, MAX_POINTS + 1)),
    "spend 10**30": (InvalidInput, lambda s: spend(s.db, s.clock, s.ann, 10**30)),
    "spend, unknown member": (MemberNotFound, lambda s: spend(s.db, s.clock, 9_999, 1)),
    "spend, member 0": (MemberNotFound, lambda s: spend(s.db, s.clock, 0, 1)),
    "spend, huge member id": (MemberNotFound, lambda s: spend(s.db, s.clock, 2**70, 1)),
    "spend, member id True": (MemberNotFound, lambda s: spend(s.db, s.clock, True, 1)),
    "spend, long key": (
        InvalidInput,
        lambda s: spend(s.db, s.clock, s.ann, 1, idempotency_key="k" * 200),
    ),
    "grant 0": (InvalidInput, lambda s: grant(s.db, s.clock, s.programme, s.ann, 0)),
    "grant True": (InvalidInput, lambda s: grant(s.db, s.clock, s.programme, s.ann, True)),
    "grant 2.0": (InvalidInput, lambda s: grant(s.db, s.clock, s.programme, s.ann, 2.0)),
    "grant 10**12": (InvalidInput, lambda s: grant(s.db, s.clock, s.programme, s.ann, 10**12)),
    "take back -10**12": (
        InvalidInput,
        lambda s: grant(s.db, s.clock, s.programme, s.ann, -(10**12)),
    ),
    "grant without a reason": (
        InvalidInput,
        lambda s: grant(s.db, s.clock, s.programme, s.ann, 5, reason="  "),
    ),
    "grant, unknown member": (
        MemberNotFound,
        lambda s: grant(s.db, s.clock, s.programme, 9_999, 5),
    ),
    **{
        f"purchase amount {amount!r}": (
            InvalidInput,
            lambda s, amount=amount: buy(s.db, s.clock, s.programme, s.ann, amount, "B"),
        )
        for amount in (
            "-5",
            -5,
            0,
            "0.00",
            "abc",
            "",
            True,
            None,
            "1e30",
            10**12,
            "NaN",
            "Infinity",
            "1.234",
        )
    },
    "purchase, blank order id": (
        InvalidInput,
        lambda s: buy(s.db, s.clock, s.programme, s.ann, 100, "   "),
    ),
    "purchase, long order id": (
        InvalidInput,
        lambda s: buy(s.db, s.clock, s.programme, s.ann, 100, "B" * 101),
    ),
    "purchase in the future": (
        InvalidInput,
        lambda s: buy(
            s.db, s.clock, s.programme, s.ann, 100, "B", occurred_at=s.clock.now() + FUTURE
        ),
    ),
    "purchase, unknown member": (
        MemberNotFound,
        lambda s: buy(s.db, s.clock, s.programme, 9_999, 100, "B"),
    ),
    "purchase, more points than a balance holds": (
        InvalidInput,
        lambda s: buy(
            s.db,
            s.clock,
            Programme(earn=Earn(points_per_unit=Decimal(1000))),
            s.ann,
            10_000_000,
            "B",
        ),
    ),
    "refund, unknown order": (
        PurchaseNotFound,
        lambda s: refund(s.db, s.clock, s.programme, "NOPE"),
    ),
    "refund -1": (InvalidInput, lambda s: refund(s.db, s.clock, s.programme, "A", "-1")),
    "refund 0": (InvalidInput, lambda s: refund(s.db, s.clock, s.programme, "A", 0)),
    "refund 'abc'": (InvalidInput, lambda s: refund(s.db, s.clock, s.programme, "A", "abc")),
    "refund True": (InvalidInput, lambda s: refund(s.db, s.clock, s.programme, "A", True)),
    "refund more than bought": (
        RefundExceedsPurchase,
        lambda s: refund(s.db, s.clock, s.programme, "A", "1000.01"),
    ),
    "refund, long key": (
        InvalidInput,
        lambda s: refund(s.db, s.clock, s.programme, "A", refund_key="r" * 300),
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=str)
def test_bad_input_is_a_domain_error_and_writes_nothing(shop: Shop, case: str):
    error, call = BAD_INPUT[case]
    before = shop.state()

    with pytest.raises(error) as raised:
        call(shop)

    assert isinstance(raised.value, DomainError)
    assert raised.value.message and raised.value.code != DomainError.code
    assert shop.state() == before


def test_an_erased_member_can_neither_earn_nor_spend(shop: Shop):
    with shop.db.session() as session:
        session.get(Member, shop.ann).erased_at = shop.clock.now()
        session.commit()
    before = shop.state()

    with pytest.raises(MemberErased):
        spend(shop.db, shop.clock, shop.ann, 1)
    with pytest.raises(MemberErased):
        buy(shop.db, shop.clock, shop.programme, shop.ann, 100, "B")

    assert shop.state() == before
