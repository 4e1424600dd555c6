"""Refunds: points reversed in proportion, the purchase's own pending points first, once per
refund, never beyond what is left of the purchase."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.kernel import PurchaseNotFound, RefundExceedsPurchase
from core.programme import Programme
from tests.support.ledger import (
    WRITTEN_BY_POINTS,
    assert_ledger_invariants,
    balances,
    row_counts,
)
from tests.support.members import new_member
from tests.support.points import (
    TAIPEI_MEMBER_DAY_JUST_BEGUN,
    buy,
    grant,
    lots,
    member,
    refund,
    spend,
)


def test_a_partial_refund_reverses_points_in_proportion(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 333, "A")

    first = refund(db, clock, programme, "A", 100)
    rest = refund(db, clock, programme, "A")

    assert (first.points_reversed, first.amount, first.balance) == (100, Decimal(100), 233)
    assert (rest.points_reversed, rest.amount, rest.balance) == (233, Decimal(233), 0)
    assert member(db, member_id).spent_cents == 0
    assert_ledger_invariants(db, [member_id])


def test_repeating_a_refund_returns_the_first_result_and_changes_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 1_000, "A")
    first = refund(db, clock, programme, "A", 250)
    counts = row_counts(db)

    again = refund(db, clock, programme, "A", 250)
    assert again == first
    assert row_counts(db) == counts

    second_item = refund(db, clock, programme, "A", 250, refund_key="second item")
    assert (second_item.points_reversed, second_item.balance) == (250, 500)


def test_a_refund_beyond_what_is_left_is_refused_and_writes_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 1_000, "A")
    refund(db, clock, programme, "A", 600)
    counts = row_counts(db)

    with pytest.raises(RefundExceedsPurchase) as refused:
        refund(db, clock, programme, "A", "400.01")
    assert refused.value.params["left"] == 400
    refund(db, clock, programme, "A")
    with pytest.raises(RefundExceedsPurchase):
        refund(db, clock, programme, "A", 1, refund_key="one more")

    assert row_counts(db)["ledger_entry"] == counts["ledger_entry"] + 1
    assert balances(db, [member_id]) == {member_id: (0, 0)}


def test_refunding_points_already_spent_reverses_what_is_left_and_reports_the_shortfall(
    db, clock, programme
):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 500, "A")
    spend(db, clock, member_id, 400)

    result = refund(db, clock, programme, "A")

    assert (result.points_reversed, result.points_shortfall, result.balance) == (100, 400, 0)
    assert_ledger_invariants(db, [member_id])


def test_a_refund_takes_back_the_purchases_own_pending_points_first(db, clock):
    programme = Programme(pending_days=14)
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)
    buy(db, clock, programme, member_id, 300, "A")

    partial = refund(db, clock, programme, "A", 100)
    assert partial.points_reversed == 100
    assert balances(db, [member_id]) == {member_id: (300, 200)}
    assert lots(db, member_id) == [(100, 100, False), (300, 200, True)]

    refund(db, clock, programme, "A")
    assert balances(db, [member_id]) == {member_id: (100, 0)}
    assert_ledger_invariants(db, [member_id])


def test_a_refund_of_an_unknown_order_is_refused(db, clock, programme):
    new_member(db, clock, programme)
    counts = row_counts(db, WRITTEN_BY_POINTS)
    with pytest.raises(PurchaseNotFound):
        refund(db, clock, programme, "NOPE")
    assert row_counts(db, WRITTEN_BY_POINTS) == counts


def test_a_refund_of_a_member_day_purchase_reverses_the_doubled_points(db, clock, programme):
    member_id = new_member(db, clock, programme)
    clock.set(TAIPEI_MEMBER_DAY_JUST_BEGUN)
    buy(db, clock, programme, member_id, 200, "A")
    clock.advance(days=3)
    assert refund(db, clock, programme, "A", 50).points_reversed == 100
    assert refund(db, clock, programme, "A").points_reversed == 300
