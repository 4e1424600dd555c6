"""Welcome on sign-up, and the nudge for members who claimed nothing after three days."""

from __future__ import annotations

from bot.app import Services
from core.kernel.clock import FixedClock
from tests.automations.conftest import Automations, opt_out_member
from tests.support.coupons import claim
from tests.support.members import new_member
from tests.support.points import buy


def test_a_new_member_is_welcomed_once_with_the_welcome_coupon(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    new_member(db, clock, programme, "bob", signed_up=False)  # not signed up: no welcome

    first = automations.run("welcome")
    again = automations.run("welcome")

    assert (first.enqueued, again.enqueued) == (1, 0)
    [delivery] = automations.queued("welcome")
    assert delivery.member_id == alice
    assert delivery.dedupe_key == f"a:welcome:2026-03-02:{alice}"
    assert delivery.content["coupon"] == "WELCOME50"
    assert "NT$50" in automations.text(delivery)
    assert "新會員 NT$50 折價券" in automations.text(delivery, "zh-TW")
    assert delivery.promotional and delivery.status == "queued"


def test_the_welcome_never_repeats_and_old_sign_ups_are_not_welcomed_late(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    automations.run("welcome")
    early = new_member(db, clock, programme, "early")  # signed up, but no run for 3 days
    clock.advance(days=3)
    bob = new_member(db, clock, programme, "bob")
    carol = new_member(db, clock, programme, "carol")
    opt_out_member(services, carol)  # /stop: no promotions

    automations.run("welcome")
    clock.advance(days=3650)  # after the period: the sign-up it welcomes happened once
    automations.run("welcome")

    assert automations.recipients("welcome") == [alice, bob]
    assert early not in automations.recipients("welcome")


def test_the_nudge_goes_after_three_days_to_members_who_claimed_and_bought_nothing(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    claimer = new_member(db, clock, programme, "bob")
    buyer = new_member(db, clock, programme, "carol")
    claim(db, clock, programme, claimer, "WELCOME50")
    buy(db, clock, programme, buyer, 300)

    clock.advance(days=2)
    assert automations.run("interest_nudge").enqueued == 0
    clock.advance(days=1)
    later = new_member(db, clock, programme, "dave")
    assert automations.run("interest_nudge").enqueued == 1
    assert automations.run("interest_nudge").enqueued == 0
    clock.advance(days=3)
    assert automations.run("interest_nudge").enqueued == 1  # dave's turn
    clock.advance(days=10)
    assert automations.run("interest_nudge").enqueued == 0  # once per sign-up

    [first, second] = automations.queued("interest_nudge")
    assert (first.member_id, second.member_id) == (alice, later)
    assert first.dedupe_key == f"a:interest_nudge:2026-03-02:{alice}"
    assert first.content["coupon"] == "WELCOME50"
    assert "still waiting" in automations.text(first)
