"""Referrals: both sides rewarded once per invitee; no self-referral, no unknown codes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.kernel import ReferralRejected
from core.members import sign_up
from core.models import Event, LedgerEntry, Referral, StageEntry
from core.programme import Programme, ReferralRule
from core.programme.sections import Caps
from tests.support.ledger import WRITTEN_BY_POINTS, assert_ledger_invariants, row_counts
from tests.support.members import new_member
from tests.support.points import buy, member


def referral_points(db, member_id):
    with db.session() as session:
        rows = session.exec(
            select(LedgerEntry).where(
                LedgerEntry.member_id == member_id, LedgerEntry.source == "referral"
            )
        ).all()
    return sorted((row.reason, row.amount) for row in rows)


def invite_code(db, member_id):
    return member(db, member_id).invite_code


def join_with(db, clock, programme, member_id, code):
    with db.session() as session:
        return sign_up(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            consent_version=programme.consent.version,
            channel="telegram",
            invite_code=code,
        )


def test_signing_up_with_an_invite_code_rewards_both_sides(db, clock, programme):
    referrer = new_member(db, clock, programme, "ann")
    invitee = new_member(db, clock, programme, "ben", invite_code=invite_code(db, referrer))

    assert member(db, invitee).referrer_id == referrer
    assert referral_points(db, referrer) == [("referral signup", 100)]
    assert referral_points(db, invitee) == [("referral signup", 50)]
    with db.session() as session:
        referral = session.get(Referral, invitee)
        assert referral.referrer_id == referrer
        assert referral.signup_rewarded_at == clock.now()
        sides = sorted(
            event.payload["side"]
            for event in session.exec(select(Event).where(Event.type == "referral_reward")).all()
        )
    assert sides == ["invitee", "referrer"]
    assert_ledger_invariants(db, [referrer, invitee])


def test_a_typed_code_in_lower_case_works(db, clock, programme):
    referrer = new_member(db, clock, programme, "ann")
    code = f"  {invite_code(db, referrer).lower()} "
    invitee = new_member(db, clock, programme, "ben", invite_code=code)
    assert member(db, invitee).referrer_id == referrer


def test_the_invitee_is_rewarded_once_and_later_purchases_add_no_referral_points(
    db, clock, programme
):
    referrer = new_member(db, clock, programme, "ann")
    invitee = new_member(db, clock, programme, "ben", invite_code=invite_code(db, referrer))
    buy(db, clock, programme, invitee, 100, "A")
    buy(db, clock, programme, invitee, 100, "B")

    assert referral_points(db, referrer) == [("referral signup", 100)]
    assert referral_points(db, invitee) == [("referral signup", 50)]


@pytest.mark.parametrize("reward_on", ["first_purchase", "both"])
def test_a_first_purchase_reward_is_paid_once_when_the_programme_says_so(db, clock, reward_on):
    programme = Programme(referral=ReferralRule(reward_on=reward_on))
    referrer = new_member(db, clock, programme, "ann")
    invitee = new_member(db, clock, programme, "ben", invite_code=invite_code(db, referrer))
    signup = [("referral signup", 100)] if reward_on == "both" else []
    assert referral_points(db, referrer) == signup

    clock.advance(days=1)  # the daily cap is per day
    buy(db, clock, programme, invitee, 100, "A")
    clock.advance(days=1)
    buy(db, clock, programme, invitee, 100, "B")

    assert referral_points(db, referrer) == sorted([*signup, ("referral purchase", 100)])
    with db.session() as session:
        assert session.get(Referral, invitee).purchase_rewarded_at is not None
    assert member(db, invitee).points_balance == 200 + 50 * (1 + (reward_on == "both"))


def test_a_purchase_by_a_member_nobody_invited_pays_no_referral_reward(db, clock):
    programme = Programme(referral=ReferralRule(reward_on="first_purchase"))
    loner = new_member(db, clock, programme)
    assert buy(db, clock, programme, loner, 100, "A").balance == 100
    assert referral_points(db, loner) == []


def test_referral_rewards_respect_the_daily_activity_cap(db, clock):
    programme = Programme(caps=Caps(activity_points_per_day=250))
    referrer = new_member(db, clock, programme, "ann")
    code = invite_code(db, referrer)
    for name in ("ben", "cat", "dan"):
        new_member(db, clock, programme, name, invite_code=code)

    assert sum(points for _, points in referral_points(db, referrer)) == 250
    clock.advance(days=1)
    new_member(db, clock, programme, "eve", invite_code=code)
    assert sum(points for _, points in referral_points(db, referrer)) == 350
    assert_ledger_invariants(db, [referrer])


def test_inviting_yourself_is_refused_and_nothing_is_written(db, clock, programme):
    member_id = new_member(db, clock, programme, "ann", signed_up=False)
    counts = row_counts(db, (*WRITTEN_BY_POINTS, Referral, StageEntry))

    with pytest.raises(ReferralRejected):
        join_with(db, clock, programme, member_id, invite_code(db, member_id))

    assert row_counts(db, (*WRITTEN_BY_POINTS, Referral, StageEntry)) == counts
    found = member(db, member_id)
    assert (found.consent_at, found.referrer_id, found.stage) == (None, None, "awareness")


@pytest.mark.parametrize("code", ["NOSUCH22", "   ", "X" * 300])
def test_an_unknown_code_is_refused_and_nothing_is_written(db, clock, programme, code):
    new_member(db, clock, programme, "ann")
    member_id = new_member(db, clock, programme, "ben", signed_up=False)
    counts = row_counts(db, (*WRITTEN_BY_POINTS, Referral, StageEntry))

    with pytest.raises(ReferralRejected):
        join_with(db, clock, programme, member_id, code)

    assert row_counts(db, (*WRITTEN_BY_POINTS, Referral, StageEntry)) == counts
    assert member(db, member_id).consent_at is None


def test_the_code_of_someone_who_has_not_signed_up_is_refused(db, clock, programme):
    visitor = new_member(db, clock, programme, "ann", signed_up=False)
    member_id = new_member(db, clock, programme, "ben", signed_up=False)
    with pytest.raises(ReferralRejected):
        join_with(db, clock, programme, member_id, invite_code(db, visitor))
    assert member(db, member_id).consent_at is None
