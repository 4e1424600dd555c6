"""Tiers: instant upgrades, no downgrade outside the review, and a warning before any drop."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.kernel import add_months
from core.models import Event, Member, TierChange
from core.tiers import collect_tier_warnings, review_tiers, tier_progress
from tests.conftest import START
from tests.support.members import new_member
from tests.support.points import buy, member, refund


def progress(db, clock, programme, member_id):
    with db.session() as session:
        found = session.get(Member, member_id)
        return tier_progress(session, member=found, now=clock.now(), programme=programme)


def warn(db, clock, programme):
    with db.session() as session:
        return collect_tier_warnings(session, clock=clock, programme=programme)


def review(db, clock, programme):
    with db.session() as session:
        return review_tiers(session, clock=clock, programme=programme)


def changes(db, member_id):
    with db.session() as session:
        rows = session.exec(
            select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.id)
        ).all()
    return [(row.from_tier, row.to_tier, row.reason) for row in rows]


def test_crossing_a_threshold_upgrades_at_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    assert buy(db, clock, programme, member_id, 4_999, "A").upgraded_to is None

    result = buy(db, clock, programme, member_id, 1, "B")

    assert (result.upgraded_to, result.tier) == ("silver", "silver")
    found = member(db, member_id)
    assert found.tier_since == clock.now()
    assert found.tier_expires_at == add_months(clock.now(), 12)
    assert changes(db, member_id)[-1] == ("basic", "silver", "upgrade")
    with db.session() as session:
        assert session.exec(select(Event).where(Event.type == "tier_up")).one().payload == {
            "from": "basic",
            "to": "silver",
        }


def test_one_big_purchase_jumps_straight_to_the_tier_it_reaches(db, clock, programme):
    member_id = new_member(db, clock, programme)
    result = buy(db, clock, programme, member_id, 25_000, "A")
    assert result.upgraded_to == "gold"
    assert result.points == 25_000  # earned at the tier the member had when buying
    assert changes(db, member_id)[-1] == ("basic", "gold", "upgrade")


def test_progress_shows_what_the_next_tier_needs_and_what_keeps_this_one(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 6_000, "A")

    shown = progress(db, clock, programme, member_id)

    assert (shown.tier, shown.value, shown.next_tier) == ("silver", 6_000, "gold")
    assert shown.needed_for_next == 14_000
    assert shown.needed_to_keep == 0
    assert shown.expires_at == add_months(START, 12)


def test_a_refund_lowers_the_value_but_never_downgrades_by_itself(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 6_000, "A")

    refund(db, clock, programme, "A", "3000")

    assert member(db, member_id).tier == "silver"
    shown = progress(db, clock, programme, member_id)
    assert (shown.value, shown.needed_to_keep) == (3_000, 2_000)


def test_partial_refunds_of_a_whole_purchase_take_back_exactly_what_it_counted(
    db, clock, programme
):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, "1.00", "A")
    refund(db, clock, programme, "A", "0.50", refund_key="first half")
    refund(db, clock, programme, "A", "0.50", refund_key="second half")
    assert progress(db, clock, programme, member_id).value == 0


def test_an_old_purchase_counts_in_its_own_window(db, clock, programme):
    """An imported sale from over a year ago does not make a tier today."""
    member_id = new_member(db, clock, programme)
    result = buy(db, clock, programme, member_id, 6_000, "OLD", occurred_at=add_months(START, -13))
    assert result.upgraded_to is None
    assert progress(db, clock, programme, member_id).value == 0


def test_a_late_refund_of_a_purchase_outside_the_window_leaves_todays_value_alone(
    db, clock, programme
):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 1_000, "OLD")
    clock.set(add_months(START, 12) + timedelta(days=1))
    buy(db, clock, programme, member_id, 6_000, "NEW")

    refund(db, clock, programme, "OLD")

    assert progress(db, clock, programme, member_id).value == 6_000


def test_a_member_is_warned_before_the_review_and_then_downgraded(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 3_000, "A")
    clock.advance(days=31)
    buy(db, clock, programme, member_id, 3_000, "B")  # silver until then + 12 months
    expires = member(db, member_id).tier_expires_at
    clock.set(expires - timedelta(days=programme.tiers.review_warning_days - 5))

    warnings = warn(db, clock, programme)

    assert [(w.member_id, w.tier, w.needed_to_keep) for w in warnings] == [
        (member_id, "silver", 2_000)
    ]
    assert warnings[0].expires_at == expires
    assert warn(db, clock, programme) == []  # once per tier period
    assert review(db, clock, programme).reviewed == 0  # not due yet

    clock.set(expires)
    result = review(db, clock, programme)

    assert result.downgraded == {member_id: "basic"}
    found = member(db, member_id)
    assert (found.tier, found.tier_expires_at) == ("basic", None)
    assert changes(db, member_id)[-1] == ("silver", "basic", "review")


def test_a_member_never_warned_is_postponed_not_downgraded(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 6_000, "A")
    clock.set(add_months(START, 12))  # the spend just left the window; no warning ran

    result = review(db, clock, programme)

    assert result.postponed_for_warning == [member_id]
    assert result.downgraded == {}
    found = member(db, member_id)
    assert found.tier == "silver"
    assert found.tier_expires_at == clock.now() + timedelta(days=30)

    assert [w.member_id for w in warn(db, clock, programme)] == [member_id]
    clock.advance(days=30)
    assert review(db, clock, programme).downgraded == {member_id: "basic"}


def test_a_member_who_still_qualifies_keeps_the_tier_for_another_period(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 6_000, "A")
    clock.set(add_months(START, 11))
    buy(db, clock, programme, member_id, 5_000, "B")
    clock.set(add_months(START, 12))

    result = review(db, clock, programme)

    assert (result.reviewed, result.kept, result.downgraded) == (1, 1, {})
    found = member(db, member_id)
    assert found.tier == "silver"
    assert found.tier_expires_at == add_months(START, 24)


def test_a_kept_tier_needs_a_new_warning_before_its_next_review(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 6_000, "A")
    clock.set(add_months(START, 12))
    assert review(db, clock, programme).postponed_for_warning == [member_id]
    assert len(warn(db, clock, programme)) == 1
    clock.advance(days=1)
    buy(db, clock, programme, member_id, 5_000, "B")  # qualifies again after the warning
    clock.advance(days=29)
    assert review(db, clock, programme).kept == 1
    next_review = member(db, member_id).tier_expires_at

    clock.set(next_review)  # "B" has just left the window; this period had no warning
    result = review(db, clock, programme)

    assert result.downgraded == {}
    assert result.postponed_for_warning == [member_id]
    assert [w.member_id for w in warn(db, clock, programme)] == [member_id]


def test_the_base_tier_is_never_reviewed(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    clock.set(add_months(START, 24))
    assert warn(db, clock, programme) == []
    assert review(db, clock, programme).reviewed == 0
    assert member(db, member_id).tier == "basic"
