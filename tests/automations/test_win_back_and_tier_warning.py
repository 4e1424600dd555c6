"""Win-back for members at risk, and the warning before a tier review would drop a member."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.app import Services
from bot.scheduling.jobs import update_member_risk
from core.automations.audiences import day_bucket
from core.kernel.clock import FixedClock
from core.models import Event
from tests.automations.conftest import Automations, update_member
from tests.support.members import new_member
from tests.support.points import buy, member


def update_risk(services: Services, automations: Automations) -> None:
    with services.database.session() as session:
        update_member_risk(
            session,
            clock=services.clock,
            programme=services.programme,
            sending=automations.sending,
        )


def test_members_at_risk_are_won_back_with_a_coupon_once_every_90_days(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    buy(db, clock, programme, alice, 300)
    clock.advance(days=50)
    buy(db, clock, programme, bob, 300)

    clock.advance(days=11)  # alice: 61 days without a purchase
    update_risk(services, automations)
    assert automations.run("win_back").enqueued == 1
    assert automations.run("win_back").enqueued == 0
    clock.advance(days=89)  # bob is at risk too by now; alice was won back 89 days ago
    update_risk(services, automations)
    assert automations.run("win_back").enqueued == 1
    clock.advance(days=1)  # 90 days on, alice is still at risk
    assert automations.run("win_back").enqueued == 1

    assert automations.recipients("win_back") == [alice, bob, alice]
    first = automations.queued("win_back")[0]
    # The period key: 2 May 2026 is day 20575 since 1970, in 90-day period 228.
    assert first.dedupe_key == f"a:win_back:228:{alice}"
    assert day_bucket(date(2026, 5, 2), 90) == "228"
    assert first.content["coupon"] == "COMEBACK100"
    assert "We miss you" in automations.text(first)


def test_a_member_who_would_drop_is_warned_once_before_the_review(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")  # silver, nothing spent this year
    bob = new_member(db, clock, programme, "bob")  # silver, and spends enough to keep it
    review = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    update_member(services, alice, tier="silver", tier_since=clock.now(), tier_expires_at=review)
    buy(db, clock, programme, bob, 5000)  # silver now, review in a year
    update_member(services, bob, tier_expires_at=review)

    assert automations.run("tier_warning").enqueued == 1
    assert automations.run("tier_warning").enqueued == 0
    [warning] = automations.queued("tier_warning")
    assert warning.member_id == alice
    assert warning.dedupe_key == f"a:tier_warning:2026-03-25:{alice}"
    assert "Your Silver tier is reviewed on Mar 25, 2026: spend NT$5,000 more" in (
        automations.text(warning)
    )
    assert member(db, alice).tier_warned_at == clock.now()
    with db.reader() as session:
        event = session.exec(select(Event).where(Event.type == "tier_warning")).one()
    assert event.payload == {"tier": "silver", "needed": 5000}

    # A new tier period (she earned silver again): its own review, its own warning.
    clock.set(datetime(2027, 2, 1, 2, 0, tzinfo=UTC))
    later_review = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
    update_member(services, alice, tier_since=clock.now(), tier_expires_at=later_review)
    assert automations.run("tier_warning").enqueued == 1
    assert automations.queued("tier_warning")[-1].dedupe_key == (
        f"a:tier_warning:2027-02-20:{alice}"
    )
