from datetime import timedelta
from decimal import Decimal

import pytest

from core.coupons import expire_coupons
from core.coupons.expiry import coupons_expiring, mark_reminded
from core.kernel import (
    CouponAlreadyRedeemed,
    CouponCodeUnknown,
    CouponExpired,
    CouponMinimumSpend,
    IdempotencyConflict,
    InvalidInput,
)
from core.models import Member
from tests.support.coupons import claim, define, events, grants, redeem, snapshot
from tests.support.members import new_member


def refused(db, error, call):
    before = snapshot(db)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(db) == before
    return caught.value


def test_staff_redeem_a_code_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, kind="amount_off", value=50, min_spend=200, valid_days=30)
    code = claim(db, clock, programme, member_id, campaign_id=4, variant="A").code
    clock.advance(hours=2)
    result = redeem(db, clock, programme, code, order_amount="250", order_id="POS-9")
    assert (result.number, result.coupon_code, result.title["en"]) == (
        f"M{member_id:06d}",
        "TEST",
        "Test coupon",
    )
    assert (result.value.kind, result.value.value, result.value.min_spend) == (
        "amount_off",
        50,
        200,
    )
    assert (result.discount, result.order_amount) == (Decimal("50"), Decimal("250"))
    (grant,) = grants(db)
    assert (grant.status, grant.redeemed_at, grant.redeemed_by, grant.redeemed_order_id) == (
        "redeemed",
        clock.now(),
        "staff:1",
        "POS-9",
    )
    (event,) = events(db, "coupon_redeemed")
    assert (event.member_id, event.campaign_id, event.variant) == (member_id, 4, "A")
    assert event.payload["order_id"] == "POS-9"
    clock.advance(minutes=1)
    error = refused(db, CouponAlreadyRedeemed, lambda: redeem(db, clock, programme, code))
    assert error.params["when"] == clock.now() - timedelta(minutes=1)


@pytest.mark.parametrize("typed", ["{}", "{lower}", "{plain}", " {spaced} ", "{wide}"])
def test_codes_are_accepted_as_staff_type_them(db, clock, programme, typed):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    code = claim(db, clock, programme, member_id).code
    plain = code.replace("-", "")
    variants = {
        "lower": code.lower(),
        "plain": plain,
        "spaced": f"{plain[:4]} {plain[4:]}".lower(),
        "wide": "".join(chr(ord(ch) + 0xFEE0) for ch in plain),  # full-width, from an IME
    }
    assert redeem(db, clock, programme, typed.format(code, **variants)).code == code


@pytest.mark.parametrize("typed", ["ABCD-EFGH", "ABCD-EFG", "ABCD-EFGO", "", "有效碼有效碼有效碼"])
def test_unknown_or_malformed_codes_are_refused(db, clock, programme, typed):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    claim(db, clock, programme, member_id)
    refused(db, CouponCodeUnknown, lambda: redeem(db, clock, programme, typed))


def test_an_expired_coupon_cannot_be_redeemed_even_before_the_job_marks_it(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, valid_days=7)
    code = claim(db, clock, programme, member_id).code
    clock.advance(days=7)
    error = refused(db, CouponExpired, lambda: redeem(db, clock, programme, code))
    assert error.params["when"] == clock.now()
    with db.session() as session:
        expire_coupons(session, clock=clock)
    refused(db, CouponExpired, lambda: redeem(db, clock, programme, code))


def test_redeeming_just_before_expiry_works(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, valid_days=7)
    code = claim(db, clock, programme, member_id).code
    clock.advance(days=7, seconds=-1)
    assert redeem(db, clock, programme, code).code == code


def test_an_order_below_the_minimum_spend_is_refused(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, kind="spend_save", value=100, min_spend=500)
    code = claim(db, clock, programme, member_id).code
    error = refused(
        db, CouponMinimumSpend, lambda: redeem(db, clock, programme, code, order_amount="499.99")
    )
    assert error.params["min_spend"] == 500
    result = redeem(db, clock, programme, code, order_amount=500)
    assert result.discount == Decimal("100")


def test_percent_off_gives_the_discount_in_cents(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, kind="percent_off", value=15)
    code = claim(db, clock, programme, member_id).code
    result = redeem(db, clock, programme, code, order_amount="333")
    assert (result.value.pays_percent, result.discount) == (85, Decimal("49.95"))


def test_bad_order_details_are_refused(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    code = claim(db, clock, programme, member_id).code
    refused(db, InvalidInput, lambda: redeem(db, clock, programme, code, order_amount="-5"))
    refused(db, InvalidInput, lambda: redeem(db, clock, programme, code, order_id="x" * 101))


def test_repeating_a_redemption_with_its_key_returns_the_first_result(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock)
    code = claim(db, clock, programme, member_id).code
    first = redeem(db, clock, programme, code, order_id="POS-1", idempotency_key="scan-1")
    clock.advance(minutes=3)
    again = redeem(db, clock, programme, code.lower(), order_id="POS-1", idempotency_key="scan-1")
    assert again == first
    assert len(events(db, "coupon_redeemed")) == 1
    with pytest.raises(IdempotencyConflict):
        redeem(db, clock, programme, code, order_id="POS-2", idempotency_key="scan-1")
    with pytest.raises(CouponAlreadyRedeemed):
        redeem(db, clock, programme, code, order_id="POS-1", idempotency_key="scan-2")


def test_the_expiry_job_expires_only_overdue_active_coupons(db, clock, programme):
    alice, bob = new_member(db, clock, programme, "alice"), new_member(db, clock, programme, "bob")
    define(db, clock, "SHORT", valid_days=1, per_member_limit=2)
    define(db, clock, "LONG", valid_days=10)
    short_a = claim(db, clock, programme, alice, "SHORT").code
    used = claim(db, clock, programme, alice, "SHORT").code
    short_b = claim(db, clock, programme, bob, "SHORT").code
    long_a = claim(db, clock, programme, alice, "LONG").code
    redeem(db, clock, programme, used)
    with db.session() as session:
        before = {m: session.get(Member, m).last_activity_at for m in (alice, bob)}
    clock.advance(days=1)
    with db.session() as session:
        result = expire_coupons(session, clock=clock)
    assert (result.grants, result.members) == (2, 2)
    status = {grant.code: grant.status for grant in grants(db)}
    assert status == {short_a: "expired", short_b: "expired", used: "redeemed", long_a: "active"}
    assert sorted(e.member_id for e in events(db, "coupon_expired")) == [alice, bob]
    with db.session() as session:
        # An expiry is not the member's doing.
        assert {m: session.get(Member, m).last_activity_at for m in (alice, bob)} == before
        assert expire_coupons(session, clock=clock).grants == 0


def test_the_expiry_job_works_in_batches(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, valid_days=1, per_member_limit=5)
    for _ in range(5):
        claim(db, clock, programme, member_id)
    clock.advance(days=2)
    with db.session() as session:
        assert expire_coupons(session, clock=clock, limit=3).grants == 3
        assert expire_coupons(session, clock=clock, limit=3).grants == 2
        assert expire_coupons(session, clock=clock, limit=3).grants == 0


def test_coupons_expiring_soon_are_listed_until_reminded(db, clock, programme):
    member_id = new_member(db, clock, programme)
    define(db, clock, "SOON", valid_days=3)
    define(db, clock, "LATER", valid_days=10)
    define(db, clock, "USED", valid_days=2)
    define(db, clock, "NEVER")
    soon = claim(db, clock, programme, member_id, "SOON")
    for code in ("LATER", "NEVER"):
        claim(db, clock, programme, member_id, code)
    redeem(db, clock, programme, claim(db, clock, programme, member_id, "USED").code)
    with db.reader() as session:
        due = coupons_expiring(session, now=clock.now(), within_days=3)
    assert [(c.code, c.coupon_code, c.expires_at) for c in due] == [
        (soon.code, "SOON", soon.expires_at)
    ]
    with db.session() as session:
        assert mark_reminded(session, clock=clock, grant_ids=[soon.grant_id]).marked == 1
    with db.session() as session:
        assert mark_reminded(session, clock=clock, grant_ids=[soon.grant_id]).marked == 0
        assert coupons_expiring(session, now=clock.now(), within_days=3) == []
