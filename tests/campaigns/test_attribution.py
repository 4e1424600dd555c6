"""Last-touch attribution: claims and purchases made without naming a campaign are credited
to the member's latest campaign message sent within that campaign's attribution window;
redemptions inherit their coupon's campaign. Frozen clock, both databases."""

from __future__ import annotations

from sqlmodel import select

from bot.app import Services
from core.coupons import claim_coupon, redeem_coupon
from core.kernel.clock import FixedClock
from core.models import CouponGrant, Event, Purchase
from core.outbox import claim_due, mark_sent
from core.purchases import record_purchase
from tests.campaigns.harness import launch, new_campaign
from tests.support.members import new_member


def send_campaign(services: Services, **spec: object) -> int:
    """A one-variant campaign to everyone, sent now; returns its id."""
    campaign = new_campaign(services, **spec)
    launch(services, campaign.id, channels=("telegram",))
    with services.database.session() as session:
        claim = claim_due(
            session, channel="telegram", now=services.clock.now(), limit=100, worker="t",
            programme=services.programme,
        )  # fmt: skip
    with services.database.session() as session:
        mark_sent(session, delivery_ids=[r.id for r in claim.rows], now=services.clock.now())
    return campaign.id


def claim(services: Services, member_id: int, campaign_id: int | None = None) -> CouponGrant:
    with services.database.session() as session:
        result = claim_coupon(
            session, clock=services.clock, programme=services.programme, member_id=member_id,
            coupon_code="COMEBACK100", channel="telegram", campaign_id=campaign_id,
            variant="B" if campaign_id else None,
        )  # fmt: skip
    with services.database.reader() as session:
        grant = session.get(CouponGrant, result.grant_id)
    assert grant is not None
    return grant


def buy(services: Services, member_id: int, order: str) -> Purchase:
    with services.database.session() as session:
        record_purchase(
            session, clock=services.clock, programme=services.programme, member_id=member_id,
            amount="480", order_id=order,
        )  # fmt: skip
    with services.database.reader() as session:
        return session.exec(select(Purchase).where(Purchase.order_id == order)).one()


def events(services: Services, kind: str) -> list[tuple[int | None, str | None]]:
    with services.database.reader() as session:
        found = session.exec(select(Event).where(Event.type == kind).order_by(Event.id)).all()
    return [(event.campaign_id, event.variant) for event in found]


def test_a_claim_within_the_window_is_credited_to_the_campaign(
    services: Services, clock: FixedClock
) -> None:
    alice = new_member(services.database, clock, services.programme, "alice", channel="telegram")
    campaign = send_campaign(services)

    clock.advance(days=6, hours=23)
    grant = claim(services, alice)

    assert (grant.campaign_id, grant.variant) == (campaign, "A")
    assert events(services, "coupon_claimed") == [(campaign, "A")]


def test_nothing_is_credited_after_the_window(services: Services, clock: FixedClock) -> None:
    alice = new_member(services.database, clock, services.programme, "alice", channel="telegram")
    send_campaign(services, attribution_days=3)

    clock.advance(days=3, seconds=1)
    grant = claim(services, alice)
    purchase = buy(services, alice, "late-order")

    assert (grant.campaign_id, grant.variant) == (None, None)
    assert (purchase.campaign_id, purchase.variant) == (None, None)
    assert events(services, "purchase") == [(None, None)]


def test_the_last_campaign_within_its_window_gets_the_credit(
    services: Services, clock: FixedClock
) -> None:
    alice = new_member(services.database, clock, services.programme, "alice", channel="telegram")
    first = send_campaign(services, name="First", attribution_days=10)
    clock.advance(days=1)
    second = send_campaign(services, name="Second", attribution_days=2)

    clock.advance(days=1)
    assert buy(services, alice, "o1").campaign_id == second
    clock.advance(days=2)  # the second campaign's window has passed, the first's has not
    assert buy(services, alice, "o2").campaign_id == first
    assert events(services, "purchase") == [(second, "A"), (first, "A")]


def test_a_named_campaign_wins_and_a_redemption_inherits_the_grant_s(
    services: Services, clock: FixedClock
) -> None:
    alice = new_member(services.database, clock, services.programme, "alice", channel="telegram")
    sent = send_campaign(services, name="Sent")
    tapped = new_campaign(services, name="Tapped").id

    grant = claim(services, alice, campaign_id=tapped)
    clock.advance(days=10)  # after every window, before the coupon expires (14 days)
    with services.database.session() as session:
        redeem_coupon(
            session, clock=clock, programme=services.programme, code=grant.code,
            actor="staff", channel="console", order_amount="500",
        )  # fmt: skip

    assert (grant.campaign_id, grant.variant) == (tapped, "B")
    assert events(services, "coupon_redeemed") == [(tapped, "B")]
    assert sent != tapped


def test_a_message_that_was_not_sent_earns_no_credit(services: Services, clock: FixedClock) -> None:
    alice = new_member(services.database, clock, services.programme, "alice", channel="telegram")
    campaign = new_campaign(services)
    launch(services, campaign.id, channels=("telegram",))  # queued, never sent

    assert claim(services, alice).campaign_id is None
