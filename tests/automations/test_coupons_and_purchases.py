"""The coupon-expiry reminder and the thank-you with the NPS survey the day after a purchase."""

from __future__ import annotations

from bot.app import Services
from core.kernel.clock import FixedClock
from tests.automations.conftest import Automations, opt_out_member
from tests.support.coupons import claim
from tests.support.members import new_member
from tests.support.points import buy
from tests.support.surveys import answer, start


def test_each_coupon_is_reminded_once_three_days_before_it_expires(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    opt_out_member(services, bob)  # a reminder about their own coupon is no promotion
    claim(db, clock, programme, alice, "WELCOME50")  # 30 days: expires 1 April, 10:00
    claim(db, clock, programme, bob, "WELCOME50")
    clock.advance(days=16)
    claim(db, clock, programme, bob, "SPEND500SAVE100")  # 14 days: expires 1 April, 10:00
    clock.advance(days=2)
    claim(db, clock, programme, alice, "SPEND500SAVE100")  # expires 3 April, 10:00

    clock.advance(days=8, hours=23)  # 29 March, 09:00: 3 days and an hour left
    assert automations.run("coupon_expiry").enqueued == 0
    clock.advance(hours=2)  # 29 March, 11:00: under three days
    assert automations.run("coupon_expiry").enqueued == 2
    assert automations.run("coupon_expiry").enqueued == 0
    clock.advance(days=1)  # 30 March: alice's latte is not due yet, the rest were reminded
    assert automations.run("coupon_expiry").enqueued == 0
    clock.advance(days=1)  # 31 March: her second coupon is due; a new day, a new reminder
    assert automations.run("coupon_expiry").enqueued == 1

    first_alice, first_bob, second_alice = automations.queued("coupon_expiry")
    assert [d.member_id for d in (first_alice, first_bob, second_alice)] == [alice, bob, alice]
    assert first_alice.dedupe_key == f"a:coupon_expiry:2026-03-29:{alice}"
    assert second_alice.dedupe_key == f"a:coupon_expiry:2026-03-31:{alice}"
    assert "NT$50 off for new members" in automations.text(first_alice)
    assert "Apr 1, 2026" in automations.text(first_alice)
    assert "1 more of your coupons" in automations.text(first_bob)
    assert "NT$100 off NT$500" in automations.text(second_alice)
    assert not first_bob.promotional
    assert first_alice.content["buttons"][0]["value"] == "coupons"


def test_the_day_after_a_purchase_members_are_thanked_and_asked_the_survey(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    buy(db, clock, programme, alice, 300)

    assert automations.run("thank_you").enqueued == 0  # the same day: not yet
    clock.advance(days=1)
    buy(db, clock, programme, bob, 200)
    assert automations.run("thank_you").enqueued == 1  # alice, for yesterday's visit
    assert automations.run("thank_you").enqueued == 0
    clock.advance(days=1)
    assert automations.run("thank_you").enqueued == 1  # bob

    [to_alice, to_bob] = automations.queued("thank_you")
    assert (to_alice.member_id, to_bob.member_id) == (alice, bob)
    assert to_alice.dedupe_key == f"a:thank_you:2026-03-02:{alice}"
    assert "Thank you for your visit" in automations.text(to_alice)
    assert to_alice.content["buttons"] == [
        {"label": {"zh-TW": "填寫問卷", "en": "Answer the survey"}, "action": "command",
         "value": "survey"}
    ]  # fmt: skip


def test_the_thank_you_comes_at_most_once_in_thirty_days_and_skips_a_survey_answered(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    buy(db, clock, programme, alice, 300)
    clock.advance(days=1)
    automations.run("thank_you")
    start(db, clock, alice)
    answer(db, clock, programme, alice, 0, 9)
    answer(db, clock, programme, alice, 1, 1)
    answer(db, clock, programme, alice, 2, "great coffee")

    clock.advance(days=5)
    buy(db, clock, programme, alice, 300)
    clock.advance(days=1)
    assert automations.run("thank_you").enqueued == 0  # thanked 6 days ago
    clock.advance(days=24)
    buy(db, clock, programme, alice, 300)
    clock.advance(days=1)
    assert automations.run("thank_you").enqueued == 1  # 31 days after the first

    second = automations.queued("thank_you")[-1]
    assert second.content.get("buttons", []) == []  # the survey was answered
    assert "Tell us how we did" not in automations.text(second)
