"""/tier in chat: the tier's benefits, exact progress to the next, the review and what keeps it."""

from datetime import UTC, datetime

import pytest

from core.programme import Programme
from core.programme.sections import Tiers
from core.purchases import record_purchase
from tests.support.chat import verify_dialog
from tests.support.member_chat import joined, member_of


def buy_at(services, member_id, amount, order_id, when):
    with services.database.session() as session:
        record_purchase(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=member_id,
            amount=amount,
            order_id=order_id,
            occurred_at=when,
        )


def test_a_new_member_sees_the_whole_way_to_silver(dialogs):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            (
                "/tier",
                [
                    "【My tier】\nMember\nBenefits: • 1 point per NT$1",
                    "Next tier: NT$5,000 more to reach Silver",
                    "Next tier's benefits: • 1.2× points\n• 100 birthday points",
                    "░░░░░░░░░░ NT$0 / NT$5,000",
                    "Member is the starting tier: it never expires.",
                ],
            )
        ],
    )


def test_a_silver_member_sees_the_review_and_what_keeps_the_tier(dialogs, services, db, clock):
    alice = joined(dialogs, "alice")
    # Bought ten months ago (counted then), upgraded now that the sale is recorded.
    buy_at(services, member_of(db, alice).id, 6000, "OLD-1", datetime(2025, 5, 2, tzinfo=UTC))
    verify_dialog(
        alice,
        [
            (
                "/tier",
                [
                    "Silver",
                    "Spend in the last 12 months: NT$6,000",
                    "NT$14,000 more to reach Gold",
                    "▓▓▓░░░░░░░ NT$6,000 / NT$20,000",
                    "reviewed on Mar 2, 2027, and you've already done what keeps Silver",
                ],
            )
        ],
    )
    clock.set(datetime(2026, 6, 1, tzinfo=UTC))  # the old sale has left the 12-month window
    verify_dialog(alice, [("/tier", "reviewed on Mar 2, 2027: NT$5,000 more by then keeps Silver")])


def test_the_top_tier_says_so_and_shows_no_bar(dialogs, services, db):
    alice = joined(dialogs, "alice")
    buy_at(services, member_of(db, alice).id, 60000, "BIG-1", datetime(2026, 3, 1, tzinfo=UTC))
    alice.say("/tier")
    assert "VIP" in alice.text and "highest tier" in alice.text
    assert "░" not in alice.text and "▓" not in alice.text


class TestGrowthBasis:
    @pytest.fixture
    def programme(self):
        default = Programme()
        tiers = Tiers.model_validate(default.tiers.model_dump() | {"basis": "growth"})
        return default.model_copy(update={"tiers": tiers})

    def test_progress_counts_growth_points(self, dialogs):
        alice = joined(dialogs, "alice")
        alice.say("/checkin")
        verify_dialog(
            alice,
            [
                (
                    "/tier",
                    ["Growth value, last 12 months: 10 growth points", "4,990 growth points more"],
                )
            ],
        )
