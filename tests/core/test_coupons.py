import re
from datetime import timedelta

import pytest
from sqlmodel import select

from core.coupons import available_coupons, member_coupons
from core.funnel.events import stage_entries
from core.kernel import (
    ConsentRequired,
    CouponLimitReached,
    CouponNotEligible,
    CouponNotFound,
    CouponOutOfStock,
    CouponUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    MemberNotFound,
)
from core.models import LedgerEntry, Member
from tests.support.coupons import (
    claim,
    define,
    definition,
    events,
    give_points,
    grants,
    redeem,
    set_member,
    snapshot,
)
from tests.support.members import new_member

CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")


def refused(db, error, call):
    """Assert that `call` raises `error` and that nothing in the database changed."""
    before = snapshot(db)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(db) == before
    return caught.value


def test_a_claim_issues_a_typeable_code_and_moves_the_member_to_decision(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, valid_days=30, stock=5)
    result = claim(db, clock, programme, member_id, campaign_id=7, variant="B")
    assert CODE.match(result.code)
    assert result.expires_at == clock.now() + timedelta(days=30)
    assert result.stage == "decision"
    assert result.remaining == 4
    assert result.points_spent == 0
    assert definition(db).claimed == 1
    (grant,) = grants(db)
    assert (grant.code, grant.status, grant.member_id) == (result.code, "active", member_id)
    assert (grant.campaign_id, grant.variant) == (7, "B")
    with db.session() as session:
        assert "decision" in stage_entries(session, member_id)
    (event,) = events(db, "coupon_claimed")
    assert (event.campaign_id, event.variant, event.payload["coupon"]) == (7, "B", "TEST")


def test_a_claim_with_a_points_cost_debits_the_points(db, clock, programme):
    member_id = new_member(db, clock, programme)
    give_points(db, clock, programme, member_id, 500)
    define(db, clock, kind="free_item", value=0, points_cost=300)
    result = claim(db, clock, programme, member_id)
    assert (result.points_spent, result.balance) == (300, 200)
    with db.session() as session:
        spend = session.exec(select(LedgerEntry).where(LedgerEntry.amount < 0)).one()
        assert (spend.amount, spend.kind, spend.source) == (-300, "spend", "coupon")
        assert spend.idempotency_key.startswith("coupon:claim:")
        assert session.get(Member, member_id).points_balance == 200


def test_a_claim_never_moves_a_member_back_from_action(db, clock, programme):
    member_id = new_member(db, clock, programme)
    set_member(db, member_id, stage="action")
    define(db, clock)
    assert claim(db, clock, programme, member_id).stage == "action"


def test_the_coupon_expires_at_the_end_of_its_window_when_that_comes_first(db, clock, programme):
    member_id = new_member(db, clock, programme)
    ends = clock.now() + timedelta(days=5)
    define(db, clock, "WINDOW", valid_days=30, valid_until=ends)
    define(db, clock, "DAYS", valid_days=3, valid_until=ends)
    define(db, clock, "FOREVER")
    assert claim(db, clock, programme, member_id, "WINDOW").expires_at == ends
    assert claim(db, clock, programme, member_id, "DAYS").expires_at == clock.now() + timedelta(3)
    assert claim(db, clock, programme, member_id, "FOREVER").expires_at is None


def test_coupon_codes_are_found_whatever_their_case(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, "WELCOME50")
    assert claim(db, clock, programme, member_id, "welcome50").coupon_code == "WELCOME50"


def test_an_unknown_coupon_is_refused(db, clock, programme):
    member_id = new_member(db, clock, programme)
    refused(db, CouponNotFound, lambda: claim(db, clock, programme, member_id, "NOPE"))


@pytest.mark.parametrize(
    ("fields", "days_later"),
    [
        ({"active": False}, 0),
        ({"valid_from_in_days": 1}, 0),
        ({"valid_until_in_days": 1}, 1),
    ],
    ids=["inactive", "not-started", "ended"],
)
def test_a_coupon_outside_its_window_or_switched_off_is_unavailable(
    db, clock, programme, fields, days_later
):
    member_id = new_member(db, clock, programme)
    fields = dict(fields)
    if "valid_from_in_days" in fields:
        fields["valid_from"] = clock.now() + timedelta(days=fields.pop("valid_from_in_days"))
    if "valid_until_in_days" in fields:
        fields["valid_until"] = clock.now() + timedelta(days=fields.pop("valid_until_in_days"))
    define(db, clock, **fields)
    clock.advance(days=days_later)
    refused(db, CouponUnavailable, lambda: claim(db, clock, programme, member_id))


def test_the_validity_window_includes_its_start_and_excludes_its_end(db, clock, programme):
    first, second = new_member(db, clock, programme, "a"), new_member(db, clock, programme, "b")
    start = clock.now() + timedelta(hours=1)
    define(db, clock, valid_from=start, valid_until=start + timedelta(hours=1))
    clock.set(start)
    assert claim(db, clock, programme, first).expires_at == start + timedelta(hours=1)
    clock.set(start + timedelta(hours=1))
    refused(db, CouponUnavailable, lambda: claim(db, clock, programme, second))


def test_not_enough_points_is_refused_and_costs_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    give_points(db, clock, programme, member_id, 299)
    define(db, clock, kind="gift", value=0, points_cost=300, stock=3)
    refused(db, InsufficientPoints, lambda: claim(db, clock, programme, member_id))
    assert definition(db).claimed == 0


def test_the_per_member_limit_holds(db, clock, programme):
    member_id = new_member(db, clock, programme)
    other = new_member(db, clock, programme, "bob")
    define(db, clock, per_member_limit=2)
    claim(db, clock, programme, member_id)
    claim(db, clock, programme, member_id)
    error = refused(db, CouponLimitReached, lambda: claim(db, clock, programme, member_id))
    assert error.params["limit"] == 2
    claim(db, clock, programme, other)  # the limit is per member


def test_a_redeemed_coupon_still_counts_against_the_limit(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    redeem(db, clock, programme, claim(db, clock, programme, member_id).code)
    refused(db, CouponLimitReached, lambda: claim(db, clock, programme, member_id))


def test_a_sold_out_coupon_is_refused(db, clock, programme):
    members = [new_member(db, clock, programme, name) for name in ("a", "b", "c")]
    define(db, clock, stock=2)
    claim(db, clock, programme, members[0])
    claim(db, clock, programme, members[1])
    refused(db, CouponOutOfStock, lambda: claim(db, clock, programme, members[2]))
    assert definition(db).claimed == 2


def test_a_coupon_with_no_stock_at_all_is_sold_out(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, stock=0)
    refused(db, CouponOutOfStock, lambda: claim(db, clock, programme, member_id))


def test_a_member_who_has_not_signed_up_cannot_claim(db, clock, programme):
    member_id = new_member(db, clock, programme, signed_up=False)
    define(db, clock)
    refused(db, ConsentRequired, lambda: claim(db, clock, programme, member_id))


def test_tier_coupons_are_only_for_their_tiers(db, clock, programme):
    basic, gold = new_member(db, clock, programme, "a"), new_member(db, clock, programme, "b")
    set_member(db, gold, tier="gold")
    define(db, clock, eligibility={"tiers": ["gold", "vip"]})
    error = refused(db, CouponNotEligible, lambda: claim(db, clock, programme, basic))
    assert error.params["rule"] == "tier"
    assert claim(db, clock, programme, gold).coupon_code == "TEST"


def test_stage_coupons_are_only_for_their_stages(db, clock, programme):
    interested, buyer = new_member(db, clock, programme, "a"), new_member(db, clock, programme, "b")
    set_member(db, buyer, stage="action")
    define(db, clock, eligibility={"stages": ["interest"]})
    refused(db, CouponNotEligible, lambda: claim(db, clock, programme, buyer))
    assert claim(db, clock, programme, interested).stage == "decision"


def test_segment_coupons_need_a_matching_segment(db, clock, programme):
    unscored = new_member(db, clock, programme, "a")
    lost, at_risk = new_member(db, clock, programme, "b"), new_member(db, clock, programme, "c")
    set_member(db, lost, segment="lost")
    set_member(db, at_risk, segment="at_risk")
    define(db, clock, eligibility={"segments": ["at_risk", "hibernating"]})
    refused(db, CouponNotEligible, lambda: claim(db, clock, programme, unscored))
    refused(db, CouponNotEligible, lambda: claim(db, clock, programme, lost))
    assert claim(db, clock, programme, at_risk).coupon_code == "TEST"


def test_new_member_coupons_end_after_the_given_days(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, "EARLY", eligibility={"new_members_days": 30})
    define(db, clock, "LATE", eligibility={"new_members_days": 30})
    clock.advance(days=30)
    assert claim(db, clock, programme, member_id, "EARLY").coupon_code == "EARLY"
    clock.advance(seconds=1)
    error = refused(db, CouponNotEligible, lambda: claim(db, clock, programme, member_id, "LATE"))
    assert error.params["rule"] == "new_members"


def test_repeating_a_claim_with_its_key_returns_the_first_result(db, clock, programme):
    member_id = new_member(db, clock, programme)
    give_points(db, clock, programme, member_id, 100)
    define(db, clock, points_cost=40, per_member_limit=5, stock=10)
    first = claim(db, clock, programme, member_id, idempotency_key="tap-1")
    clock.advance(minutes=1)
    again = claim(db, clock, programme, member_id, idempotency_key="tap-1")
    assert again == first
    assert len(grants(db)) == 1
    assert definition(db).claimed == 1
    with db.session() as session:
        assert session.get(Member, member_id).points_balance == 60
    with pytest.raises(IdempotencyConflict):
        claim(db, clock, programme, member_id, idempotency_key="tap-1", campaign_id=3)


def test_a_refused_claim_leaves_its_key_free_for_a_later_try(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, points_cost=50)
    refused(
        db,
        InsufficientPoints,
        lambda: claim(db, clock, programme, member_id, idempotency_key="k"),
    )
    give_points(db, clock, programme, member_id, 50)
    assert claim(db, clock, programme, member_id, idempotency_key="k").balance == 0


def test_an_overlong_claim_key_is_refused(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    refused(
        db, InvalidInput, lambda: claim(db, clock, programme, member_id, idempotency_key="k" * 190)
    )


def test_available_coupons_show_stock_holdings_and_why_not(db, clock, programme):
    member_id = new_member(db, clock, programme)
    give_points(db, clock, programme, member_id, 100)
    define(db, clock, "FREE", stock=3)
    define(db, clock, "PRICEY", points_cost=150)
    define(db, clock, "GONE", stock=0)
    define(db, clock, "GOLD", eligibility={"tiers": ["gold"]})
    define(db, clock, "OFF", active=False)
    define(db, clock, "LATER", valid_from=clock.now() + timedelta(days=1))
    claim(db, clock, programme, member_id, "FREE")
    with db.reader() as session:
        offers = available_coupons(
            session, member_id=member_id, now=clock.now(), programme=programme
        )
    by_code = {offer.coupon_code: offer for offer in offers}
    assert set(by_code) == {"FREE", "PRICEY", "GONE"}
    assert (by_code["FREE"].remaining, by_code["FREE"].claimed_by_member) == (2, 1)
    assert (by_code["FREE"].claimable, by_code["FREE"].reason) == (False, "coupon.limit_reached")
    assert by_code["PRICEY"].reason == "points.insufficient"
    assert by_code["PRICEY"].remaining is None
    assert by_code["GONE"].reason == "coupon.out_of_stock"
    give_points(db, clock, programme, member_id, 50)
    with db.reader() as session:
        offers = available_coupons(
            session, member_id=member_id, now=clock.now(), programme=programme
        )
    assert {o.coupon_code for o in offers if o.claimable} == {"PRICEY"}


def test_available_coupons_invite_members_yet_to_sign_up(db, clock, programme):
    member_id = new_member(db, clock, programme, signed_up=False)
    define(db, clock, "WELCOME", eligibility={"new_members_days": 7})
    define(db, clock, "GOLD", eligibility={"tiers": ["gold"]})
    with db.reader() as session:
        offers = available_coupons(
            session, member_id=member_id, now=clock.now(), programme=programme
        )
    assert [(o.coupon_code, o.reason) for o in offers] == [("WELCOME", "member.consent_required")]


def test_config_coupons_are_listed_in_config_order(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, "ZZZ")
    for rule in reversed(programme.coupons):
        define(db, clock, rule.code, **rule.model_dump(exclude={"code"}))
    with db.reader() as session:
        offers = available_coupons(
            session, member_id=member_id, now=clock.now(), programme=programme
        )
    codes = [offer.coupon_code for offer in offers]
    # GOLD15 is for gold and VIP members only.
    expected = [rule.code for rule in programme.coupons if rule.code != "GOLD15"]
    assert codes == [*expected, "ZZZ"]


def test_member_coupons_are_the_usable_ones_soonest_to_expire_first(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, "LONG", valid_days=30)
    define(db, clock, "SHORT", valid_days=2)
    define(db, clock, "USED", valid_days=10)
    define(db, clock, "GONE", valid_days=1)
    long_, short = (claim(db, clock, programme, member_id, c).code for c in ("LONG", "SHORT"))
    redeem(db, clock, programme, claim(db, clock, programme, member_id, "USED").code)
    claim(db, clock, programme, member_id, "GONE")
    clock.advance(days=1)
    with db.reader() as session:
        held = member_coupons(session, member_id=member_id, now=clock.now())
        everything = member_coupons(
            session, member_id=member_id, now=clock.now(), include_used=True
        )
    assert [(c.code, c.status) for c in held] == [(short, "active"), (long_, "active")]
    assert held[0].expires_at == clock.now() + timedelta(days=1)
    assert [c.status for c in everything] == ["active", "active", "expired", "redeemed"]


@pytest.mark.parametrize(
    "options",
    [{"campaign_id": 2**31}, {"campaign_id": 0}, {"variant": ""}, {"variant": "v" * 17}],
)
def test_bad_attribution_is_refused(db, clock, programme, options):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    refused(db, InvalidInput, lambda: claim(db, clock, programme, member_id, **options))


def test_claims_by_unknown_members_are_refused(db, clock, programme):
    define(db, clock)
    refused(db, MemberNotFound, lambda: claim(db, clock, programme, 999))
