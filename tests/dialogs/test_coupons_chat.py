"""/coupons in chat: offers with claim buttons, held coupons with a countdown, safe claims."""

from datetime import UTC, datetime

from sqlmodel import select

from core.chat import MAX_PAYLOAD_BYTES, Button, Incoming
from core.coupons import define_coupon
from core.models import CouponDefinition, CouponGrant, LedgerEntry
from core.points import adjust_points
from core.programme import CouponRule
from tests.support.chat import ChatUser, verify_dialog
from tests.support.member_chat import count, joined, member_of


def test_offers_show_value_cost_stock_and_why_one_cannot_be_claimed(dialogs):
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    text = alice.text
    assert "【Free latte】\nValue: A free item\nCost: 300 points" in text
    assert "You need 300 points; you have 0." in text
    assert "Value: Spend NT$500, save NT$100\nCost: Free\nStock: 500 left" in text
    assert "Value: NT$50 off on orders of NT$200 or more" in text
    labels = [button.label for button in alice.buttons]
    assert "Claim: Free latte" not in labels  # not enough points: no button
    assert "Claim: NT$100 off NT$500" in labels
    assert "15% off for Gold and VIP" not in text  # outside her audience


def test_offers_read_in_chinese_for_a_chinese_speaker(dialogs):
    chen = joined(dialogs, "chen", language=None)
    verify_dialog(
        chen,
        [
            (
                "/coupons",
                [
                    "現在可以領取的優惠券",
                    "折抵 $50（消費滿 $200 可用）",
                    "滿 $500 折 $100",
                    "剩 500 張",
                ],
            )
        ],
    )


def test_a_claim_shows_the_coupon_and_takes_one_from_stock(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    alice.tap("Claim: NT$100 off NT$500")
    with db.reader() as session:
        grant = session.exec(select(CouponGrant)).one()
        definition = session.exec(
            select(CouponDefinition).where(CouponDefinition.code == "SPEND500SAVE100")
        ).one()
    assert definition.claimed == 1
    assert f"Code: {grant.code}" in alice.text
    assert "Expires: in 2 weeks" in alice.text
    verify_dialog(alice, [("/coupons", ["499 left", "Your coupons (1)", grant.code])])


def test_a_redelivered_claim_tap_grants_nothing_more(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    payload = alice.button("Claim: NT$100 off NT$500").payload
    assert payload == "claim:SPEND500SAVE100"
    tap = Incoming(
        channel="console", user_id="alice", kind="button", payload=payload, event_id="tap-42"
    )
    first = dialogs.handle(tap).reply.as_text()
    again = dialogs.handle(tap).reply.as_text()  # the platform delivers it again
    assert first == again
    assert count(db, CouponGrant) == 1


def test_a_second_tap_of_an_old_claim_button_says_it_was_claimed_already(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    button = alice.button("Claim: NT$100 off NT$500")
    alice.press(button)
    alice.press(button)  # a new tap, a new event: the per-member limit answers
    assert "You've already claimed this coupon (limit 1 per member)" in alice.text
    assert count(db, CouponGrant) == 1


def test_a_coupon_with_a_points_cost_spends_points_once(dialogs, services, db):
    alice = joined(dialogs, "alice")
    grant_points(services, member_of(db, alice).id, 500)
    alice.say("/coupons")
    alice.tap("Claim: Free latte")
    assert "Points used: 300 (balance: 200)" in alice.text
    assert member_of(db, alice).points_balance == 200
    assert count(db, LedgerEntry, LedgerEntry.kind == "spend") == 1


def test_a_coupon_code_too_long_for_a_button_is_claimed_by_its_id(dialogs, services, db):
    code = "SUMMER-" + "X" * 55
    with db.session() as session:
        define_coupon(
            session,
            clock=services.clock,
            rule=CouponRule(code=code, title="Summer", kind="gift", valid_days=7),
        )
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    button = alice.button("Claim: Summer")
    assert len(button.payload.encode()) <= MAX_PAYLOAD_BYTES
    assert button.payload.startswith("claim:#")
    alice.press(button)
    assert "Claimed!" in alice.text
    with db.reader() as session:
        grant, definition = session.exec(
            select(CouponGrant, CouponDefinition).where(
                CouponGrant.definition_id == CouponDefinition.id
            )
        ).one()
    assert definition.code == code


def test_a_coupon_past_its_time_is_no_longer_listed_as_usable(dialogs, db, clock):
    alice = joined(dialogs, "alice")
    alice.say("/coupons")
    alice.tap("Claim: NT$100 off NT$500")
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))  # 14 days of validity are over
    alice.say("/coupons")
    assert "Your coupons" not in alice.text


def test_someone_who_has_not_joined_is_asked_to_join_before_claiming(dialogs, db):
    stranger = ChatUser(dialogs, "stranger", language="en")
    stranger.press(Button("Claim", "claim:WELCOME50"))  # a button forwarded from a friend
    assert "Agree and join" in stranger.text
    verify_dialog(stranger, [("/coupons", "Agree and join")])
    assert count(db, CouponGrant) == 0


def grant_points(services, member_id, points):
    with services.database.session() as session:
        adjust_points(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=member_id,
            points=points,
            reason="test",
            actor="test",
            idempotency_key=f"test:{member_id}:{points}",
        )
