"""The housekeeping jobs, called directly with a fixed clock: points released and expired
(with the warning before), coupons expired, risk updated, tiers reviewed, old webhook
updates forgotten. Each is safe to run twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.app import Services
from bot.scheduling.jobs import (
    expire_old_coupons,
    expire_old_points,
    purge_inbound_updates,
    release_pending,
    review_member_tiers,
    score_members,
    update_member_risk,
    warn_expiring_points,
)
from core.kernel.clock import FixedClock
from core.models import CouponGrant, InboundUpdate, Member
from core.programme import Programme
from tests.automations.conftest import Automations, update_member
from tests.support.coupons import claim
from tests.support.members import new_member
from tests.support.points import buy, member


def run(job, services: Services, automations: Automations) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with services.database.session() as session:
        return job(
            session,
            clock=services.clock,
            programme=services.programme,
            sending=automations.sending,
        )


@pytest.fixture
def programme() -> Programme:
    return Programme(pending_days=7)


def test_pending_purchase_points_are_released_after_the_return_window(
    services: Services, clock: FixedClock, automations: Automations
):
    alice = new_member(services.database, clock, services.programme, "alice")
    buy(services.database, clock, services.programme, alice, 300)
    assert member(services.database, alice).points_pending == 300

    clock.advance(days=6)
    assert run(release_pending, services, automations) == {"members": 0, "points": 0}
    clock.advance(days=1)
    assert run(release_pending, services, automations) == {"members": 1, "points": 300}
    assert run(release_pending, services, automations) == {"members": 0, "points": 0}
    assert member(services.database, alice).points_pending == 0


def test_points_are_warned_about_once_per_expiry_date_then_expire(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    buy(db, clock, programme, alice, 300)  # expires 2 March 2027
    clock.advance(days=10)
    buy(db, clock, programme, alice, 200)  # expires 12 March 2027

    clock.set(datetime(2027, 1, 30, 2, 0, tzinfo=UTC))  # 31 days before
    assert run(warn_expiring_points, services, automations)["enqueued"] == 0
    clock.set(datetime(2027, 2, 1, 2, 0, tzinfo=UTC))
    assert run(warn_expiring_points, services, automations)["enqueued"] == 1
    clock.set(datetime(2027, 2, 15, 2, 0, tzinfo=UTC))  # both dates are within 30 days now
    assert run(warn_expiring_points, services, automations)["enqueued"] == 0

    clock.set(datetime(2027, 3, 3, 2, 0, tzinfo=UTC))
    assert run(expire_old_points, services, automations) == {"members": 1, "points": 300}
    assert run(expire_old_points, services, automations) == {"members": 0, "points": 0}
    assert run(warn_expiring_points, services, automations)["enqueued"] == 1  # 12 March

    first, second = automations.queued("points_expiry")
    assert first.dedupe_key == f"w:points_expiry:2027-03-02:{alice}"
    assert second.dedupe_key == f"w:points_expiry:2027-03-12:{alice}"
    assert "300 points expire on Mar 2, 2027" in automations.text(first)
    assert "200 點將於 2027年3月12日 到期" in automations.text(second, "zh-TW")
    assert not first.promotional
    assert member(db, alice).points_balance == 200


def test_coupons_past_their_time_expire(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    claim(db, clock, programme, alice, "SPEND500SAVE100")  # 14 days

    clock.advance(days=14, seconds=1)
    assert run(expire_old_coupons, services, automations) == {"grants": 1, "members": 1}
    assert run(expire_old_coupons, services, automations) == {"grants": 0, "members": 0}
    with db.reader() as session:
        assert session.exec(select(CouponGrant.status)).one() == "expired"


def test_buyers_without_a_recent_purchase_become_at_risk_then_lapsed(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    buy(db, clock, programme, alice, 300)

    clock.advance(days=61)
    assert run(update_member_risk, services, automations)["at_risk"] == 1
    assert run(update_member_risk, services, automations)["changed"] == 0
    clock.advance(days=120)
    assert run(update_member_risk, services, automations)["lapsed"] == 1
    assert member(db, alice).risk == "lapsed"


def test_the_tier_review_warns_first_and_drops_the_warned_after_the_warning_period(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    update_member(
        services, alice, tier="silver", tier_since=clock.now(), tier_expires_at=clock.now()
    )

    clock.advance(hours=1)  # the review is due, but she was never warned: postponed, warned
    assert run(review_member_tiers, services, automations) == {
        "reviewed": 1, "kept": 0, "downgraded": 0, "warned": 1
    }  # fmt: skip
    assert run(review_member_tiers, services, automations)["warned"] == 0
    clock.advance(days=29)
    assert run(review_member_tiers, services, automations)["downgraded"] == 0
    clock.advance(days=1)
    assert run(review_member_tiers, services, automations)["downgraded"] == 1
    assert member(db, alice).tier == "basic"
    assert automations.recipients("tier_warning") == [alice]


def test_without_the_warning_automation_the_review_still_warns_before_dropping(
    services: Services, clock: FixedClock, automations: Automations
):
    db = services.database
    services.programme = services.programme.model_copy(
        update={
            "automations": [a for a in services.programme.automations if a.code != "tier_warning"]
        }
    )
    alice = new_member(db, clock, services.programme, "alice")
    review = clock.now() + timedelta(days=10)
    update_member(services, alice, tier="silver", tier_since=clock.now(), tier_expires_at=review)

    assert run(review_member_tiers, services, automations)["warned"] == 1
    clock.advance(days=11)
    assert run(review_member_tiers, services, automations)["downgraded"] == 1
    assert automations.queued() == []


def test_handled_webhook_updates_are_forgotten_after_thirty_days(
    services: Services, clock: FixedClock, automations: Automations
):
    def update(update_id: str, status: str, days_ago: int) -> dict[str, object]:
        at = clock.now() - timedelta(days=days_ago)
        return {"channel": "telegram", "update_id": update_id, "status": status, "payload": {},
                "attempts": 1, "received_at": at, "processed_at": at}  # fmt: skip

    table = InboundUpdate.__table__  # type: ignore[attr-defined]
    with services.database.transaction() as session:
        session.execute(
            sa.insert(table),
            [update("old", "done", 31), update("recent", "done", 29), update("bad", "failed", 60)],
        )

    assert run(purge_inbound_updates, services, automations) == {"deleted": 1}
    assert run(purge_inbound_updates, services, automations) == {"deleted": 0}
    with services.database.reader() as session:
        left = session.exec(select(InboundUpdate.update_id).order_by(col(InboundUpdate.id))).all()
    assert left == ["recent", "bad"]


def test_the_nightly_scoring_job_waits_for_enough_history_then_scores_every_buyer(
    services: Services, clock: FixedClock, automations: Automations
):
    assert run(score_members, services, automations) == {"scored": 0}  # too little history
    for index in range(24):
        buyer = new_member(services.database, clock, services.programme, f"buyer{index}")
        for visit in range(1 + index % 4):
            clock.advance(days=3)
            buy(services.database, clock, services.programme, buyer, 120 + 10 * visit)
    assert run(score_members, services, automations) == {"scored": 24}
    with services.database.reader() as session:
        segments = session.exec(select(Member.segment).where(col(Member.segment).is_not(None)))
        assert len(segments.all()) == 24
