"""Points: the earn rule, pending points, spending and expiry oldest first (refunds:
test_refunds.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.kernel import InsufficientPoints, add_months
from core.models import Event, LedgerEntry
from core.points import expire_points, points_expiring, release_pending_points
from core.programme import Programme, Promotion
from core.programme.sections import Earn, Expiry
from core.purchases import earn_points
from tests.conftest import START
from tests.support.ledger import (
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
    spend,
)


def expire(db, clock):
    with db.session() as session:
        return expire_points(session, clock=clock)


def release(db, clock):
    with db.session() as session:
        return release_pending_points(session, clock=clock)


# The earn rule


@pytest.mark.parametrize(
    ("amount", "points"), [("99.99", 99), ("100", 100), ("0.99", 0), ("1234.50", 1234)]
)
def test_a_purchase_earns_the_floor_of_amount_times_rate(db, clock, programme, amount, points):
    member_id = new_member(db, clock, programme)
    result = buy(db, clock, programme, member_id, amount, "A")
    assert result.points == points
    assert balances(db, [member_id]) == {member_id: (points, 0)}
    assert len(lots(db, member_id)) == (1 if points else 0)


def test_a_rate_below_one_point_per_unit_rounds_down(db, clock):
    programme = Programme(earn=Earn(points_per_unit=Decimal("0.1")))  # 1 point per NT$10
    member_id = new_member(db, clock, programme)
    assert buy(db, clock, programme, member_id, 99, "A").points == 9


def test_the_tier_multiplier_applies_to_purchases_after_the_upgrade(db, clock, programme):
    member_id = new_member(db, clock, programme)
    assert buy(db, clock, programme, member_id, 5_000, "A").points == 5_000  # becomes silver
    result = buy(db, clock, programme, member_id, 333, "B")
    assert (result.points, result.multiplier) == (399, Decimal("1.2"))  # 399.6 rounded down


@pytest.mark.parametrize(
    ("at", "doubled"),
    [
        (TAIPEI_MEMBER_DAY_JUST_BEGUN, True),
        (datetime(2026, 3, 18, 15, 59, tzinfo=UTC), True),  # 23:59 on the 18th in Taipei
        (datetime(2026, 3, 17, 15, 59, tzinfo=UTC), False),  # 23:59 on the 17th in Taipei
        (datetime(2026, 3, 18, 16, 0, tzinfo=UTC), False),  # the 19th has begun in Taipei
    ],
)
def test_member_day_doubles_points_on_the_18th_in_the_programmes_time_zone(
    db, clock, programme, at, doubled
):
    member_id = new_member(db, clock, programme)
    clock.set(at)
    result = buy(db, clock, programme, member_id, 150, "A")
    assert result.points == (300 if doubled else 150)
    assert result.promotions == (["member_day"] if doubled else [])


def test_member_day_follows_when_the_sale_happened_not_when_it_was_recorded(db, clock, programme):
    member_id = new_member(db, clock, programme)
    clock.set(TAIPEI_MEMBER_DAY_JUST_BEGUN + timedelta(days=2))
    result = buy(
        db, clock, programme, member_id, 150, "A", occurred_at=TAIPEI_MEMBER_DAY_JUST_BEGUN
    )
    assert result.points == 300


def test_member_day_in_another_programme_time_zone(db, clock):
    programme = Programme(timezone="Europe/London")
    member_id = new_member(db, clock, programme)
    clock.set(TAIPEI_MEMBER_DAY_JUST_BEGUN)  # still the 17th in London
    assert buy(db, clock, programme, member_id, 150, "A").points == 150


def test_category_multipliers_and_promotions_multiply_together(db, clock):
    programme = Programme(
        earn=Earn(category_multipliers={"coffee": Decimal(3)}),
        promotions=[
            Promotion(code="member_day", name="x", days_of_month=[18]),
            Promotion(code="gold_monday", name="y", weekdays=[2], tiers=["gold"]),
        ],
    )
    member_id = new_member(db, clock, programme)
    clock.set(TAIPEI_MEMBER_DAY_JUST_BEGUN)  # a Wednesday
    assert buy(db, clock, programme, member_id, 100, "A", category="coffee").points == 600
    assert buy(db, clock, programme, member_id, 100, "B", category="cake").points == 200


def test_the_earn_rule_combines_tier_category_and_promotions(programme):
    points, multiplier, promotions = earn_points(
        amount=Decimal("101"),
        tier="gold",
        category=None,
        day=TAIPEI_MEMBER_DAY_JUST_BEGUN,
        programme=programme,
    )
    assert (points, multiplier, promotions) == (303, Decimal(3), ["member_day"])


def test_purchases_below_the_minimum_amount_earn_nothing_but_still_count(db, clock):
    programme = Programme(earn=Earn(min_amount=100))
    member_id = new_member(db, clock, programme)

    small = buy(db, clock, programme, member_id, "99.99", "A")
    enough = buy(db, clock, programme, member_id, 100, "B")

    assert (small.points, enough.points) == (0, 100)
    found = member(db, member_id)
    assert (found.purchase_count, found.points_balance) == (2, 100)


# Pending points


def test_pending_points_cannot_be_spent_until_the_return_window_has_passed(db, clock):
    programme = Programme(pending_days=7)
    member_id = new_member(db, clock, programme)
    result = buy(db, clock, programme, member_id, 300, "A")
    assert result.pending and result.balance == 300
    assert balances(db, [member_id]) == {member_id: (300, 300)}

    clock.advance(days=6, hours=23)
    with pytest.raises(InsufficientPoints) as refused:
        spend(db, clock, member_id, 1)
    assert refused.value.params == {"needed": 1, "available": 0}

    clock.advance(hours=1)
    spent = spend(db, clock, member_id, 100)  # released by the spend itself
    assert (spent.balance, spent.spendable) == (200, 200)
    assert_ledger_invariants(db, [member_id])


def test_the_release_job_makes_pending_points_spendable(db, clock):
    programme = Programme(pending_days=3)
    first = new_member(db, clock, programme, "a")
    second = new_member(db, clock, programme, "b")
    buy(db, clock, programme, first, 100, "A")
    buy(db, clock, programme, second, 200, "B")
    clock.advance(days=1)
    buy(db, clock, programme, first, 50, "C")

    assert release(db, clock).points == 0
    clock.advance(days=2)
    result = release(db, clock)

    assert (result.members, result.points) == (2, 300)
    assert balances(db, [first, second]) == {first: (150, 50), second: (200, 0)}
    assert release(db, clock).members == 0
    with db.session() as session:
        assert len(session.exec(select(Event).where(Event.type == "points_released")).all()) == 2
    assert_ledger_invariants(db, [first, second])


def test_grants_are_spendable_at_once_even_with_a_return_window(db, clock):
    programme = Programme(pending_days=7)
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 300, "A")
    grant(db, clock, programme, member_id, 50)
    assert spend(db, clock, member_id, 50).spendable == 0
    with pytest.raises(InsufficientPoints):
        grant(db, clock, programme, member_id, -1)  # staff cannot take pending points


# Spending


def test_spending_more_than_the_balance_is_refused_and_writes_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)
    counts = row_counts(db)

    with pytest.raises(InsufficientPoints) as refused:
        spend(db, clock, member_id, 101)

    assert refused.value.params == {"needed": 101, "available": 100}
    assert row_counts(db) == counts
    assert spend(db, clock, member_id, 100).balance == 0


def test_spending_takes_the_oldest_lots_first(db, clock, programme):
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)
    clock.advance(days=30)
    grant(db, clock, programme, member_id, 100)

    spend(db, clock, member_id, 150)

    assert lots(db, member_id) == [(100, 0, False), (100, 50, False)]


def test_spending_takes_the_soonest_expiring_lot_first_and_never_expiring_ones_last(db, clock):
    member_id = new_member(db, clock, Programme())
    grant(db, clock, Programme(expiry=Expiry(months=0)), member_id, 100)  # never expires
    grant(db, clock, Programme(expiry=Expiry(months=12)), member_id, 100)
    clock.advance(days=1)
    grant(db, clock, Programme(expiry=Expiry(months=3)), member_id, 100)

    spend(db, clock, member_id, 150)

    assert lots(db, member_id) == [(100, 100, False), (100, 50, False), (100, 0, False)]


# Expiry


def test_points_expire_oldest_first_after_the_expiry_period(db, clock, programme):
    member_id = new_member(db, clock, programme)
    grant(db, clock, programme, member_id, 100)
    clock.advance(days=60)
    grant(db, clock, programme, member_id, 50)
    spend(db, clock, member_id, 30)  # from the first lot

    clock.set(add_months(START, 12) - timedelta(seconds=1))
    assert expire(db, clock).points == 0
    clock.set(add_months(START, 12))
    result = expire(db, clock)

    assert (result.members, result.points) == (1, 70)
    assert balances(db, [member_id]) == {member_id: (50, 0)}
    assert expire(db, clock).members == 0  # each lot expires once
    with db.session() as session:
        entry = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "expire")).one()
    assert (entry.amount, entry.created_at) == (-70, clock.now())
    assert entry.reason == "points earned 2026-03-02 expired"

    clock.advance(days=60)
    assert expire(db, clock).points == 50
    assert balances(db, [member_id]) == {member_id: (0, 0)}
    assert_ledger_invariants(db, [member_id])


def test_points_still_pending_when_they_expire_leave_nothing_pending(db, clock):
    programme = Programme(pending_days=120, expiry=Expiry(months=3))
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    clock.set(add_months(START, 3))

    assert expire(db, clock).points == 100

    assert balances(db, [member_id]) == {member_id: (0, 0)}
    assert release(db, clock).points == 0
    assert_ledger_invariants(db, [member_id])


def test_points_never_expire_when_the_programme_says_so(db, clock):
    programme = Programme(expiry=Expiry(months=0))
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    clock.set(add_months(START, 120))
    assert expire(db, clock).points == 0
    assert balances(db, [member_id]) == {member_id: (100, 0)}


def test_points_expiring_sums_what_is_left_of_lots_due_within_the_horizon(db, clock, programme):
    first = new_member(db, clock, programme, "a")
    second = new_member(db, clock, programme, "b")
    grant(db, clock, programme, first, 100)
    grant(db, clock, programme, second, 10)
    clock.advance(days=40)
    grant(db, clock, programme, first, 30)
    spend(db, clock, first, 25)

    now = add_months(START, 12) - timedelta(days=10)
    with db.session() as session:
        soon = points_expiring(session, now=now, within_days=30)
        later = points_expiring(session, now=now, within_days=60, member_id=first)
        past = points_expiring(session, now=add_months(START, 12), within_days=45)

    assert [(e.member_id, e.points, e.first_expiry) for e in soon] == [
        (first, 75, add_months(START, 12)),
        (second, 10, add_months(START, 12)),
    ]
    assert [(e.member_id, e.points) for e in later] == [(first, 105)]
    assert [(e.member_id, e.points) for e in past] == [(first, 30)]  # due lots are the job's
