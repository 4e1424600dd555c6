"""A member's whole journey over Telegram webhooks (issue 4, acceptance 1 and 5, Telegram
side): commands typed, inline buttons tapped (consent, coupon claim, survey answers,
language, erasure), every reply sent through python-telegram-bot to the fake Bot API."""

from __future__ import annotations

from sqlmodel import select

import tests.fakes.fixtures as fake_fixtures
from core.models import ChannelIdentity, CouponGrant, LedgerEntry, Member, SurveyAnswer
from tests.channels import telegram_harness
from tests.channels.telegram_harness import TelegramApp, TelegramChat
from tests.fakes.webhooks import TelegramUpdates
from tests.support.member_chat import buy

fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates
quick_telegram_app = telegram_harness.quick_telegram_app

ALICE, BOB = 5001, 5002


def member_row(app: TelegramApp, user_id: int) -> Member:
    with app.services.database.reader() as session:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "telegram",
                ChannelIdentity.platform_user_id == str(user_id),
            )
        ).one()
        member = session.get(Member, identity.member_id)
    assert member is not None
    return member


def test_a_member_joins_claims_answers_invites_checks_in_and_leaves_over_telegram(
    quick_telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = quick_telegram_app
    user = telegram_updates.user(ALICE, first_name="Alice", language_code="en")
    alice = TelegramChat(app, telegram_updates, user)

    assert "privacy policy" in alice.say("/start")
    assert "Welcome aboard, Alice" in alice.tap("Agree")
    assert "M000001" in alice.say("/points")
    me = member_row(app, ALICE).id

    # A coupon: listed with a claim button, claimed with a tap.
    assert "NT$50 off for new members" in alice.say("/coupons")
    claimed = alice.tap("Claim: NT$50 off for new members")
    with app.services.database.reader() as session:
        grant = session.exec(select(CouponGrant).where(CouponGrant.member_id == me)).one()
    assert grant.code in claimed

    # The tier card after a purchase at the counter.
    buy(app.services, me or 0, 1200, "POS-1")
    assert "NT$3,800 more to reach Silver" in alice.say("/tier")

    # The survey: a tapped score, a typed choice, a tapped skip; rewarded once.
    assert "(1/3)" in alice.say("/survey")
    assert "(2/3)" in alice.tap("9")
    assert "(3/3)" in alice.say("Evening")
    assert "You earned 20 points" in alice.tap("Skip")
    with app.services.database.reader() as session:
        answers = session.exec(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()
    assert [(a.value_int, a.skipped) for a in answers] == [(9, False), (3, False), (None, True)]

    # An invite through the deep link: Bob joins, Alice is told in her chat.
    code = member_row(app, ALICE).invite_code
    invite = alice.say("/invite")
    assert f"https://t.me/loyalty_test_bot?start={code}" in invite  # username from getMe
    bob = TelegramChat(app, telegram_updates, telegram_updates.user(BOB, first_name="Bob"))
    bob.say(f"/start {code}")
    alice_before = len(app.fake.texts_to(ALICE))
    assert "您透過好友邀請加入，獲得 50 點" in bob.tap("同意")
    [notice] = app.texts(ALICE)[alice_before:]
    assert notice.startswith("🎉 A friend joined with your invite code!")

    # Check in twice: one reward.
    assert "Checked in! +5 points" in alice.say("/checkin")
    assert "already checked in today" in alice.say("/checkin")
    with app.services.database.reader() as session:
        checkins = session.exec(
            select(LedgerEntry).where(LedgerEntry.member_id == me, LedgerEntry.source == "checkin")
        ).all()
    assert len(checkins) == 1

    # Language by button, then offers off.
    alice.say("/lang")
    assert "之後都會用繁體中文" in alice.tap("繁體中文")
    assert "已為您停止優惠推播" in alice.say("/stop")
    assert member_row(app, ALICE).opted_out is True

    # Her data, then erasure after a confirmation tap.
    assert "會員編號：M000001" in alice.say("/mydata")
    assert "確定要刪除" in alice.say("/deleteme")
    assert "已刪除（會員 M000001）" in alice.tap("刪除我的資料")
    with app.services.database.reader() as session:
        erased = session.get(Member, me)
    assert erased is not None and erased.erased_at is not None

    # Every tap was answered exactly once, and nothing failed on the way.
    answered = [c for c in app.fake.calls("answerCallbackQuery") if c.status == 200]
    assert len(answered) == alice.taps + bob.taps
    assert all(call.ok for call in app.fake.calls("sendMessage"))
    assert app.scalar("select count(*) from inbound_update where status <> 'done'") == 0
