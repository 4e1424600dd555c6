"""One member's whole journey through the member commands, as a chat, with the database checked
at each step that writes something (issue 3, acceptance 1, member side)."""

from sqlmodel import select

from core.models import ChannelIdentity, CouponGrant, LedgerEntry, Member, SurveyAnswer
from core.surveys import current_question
from tests.support.chat import ChatUser, verify_dialog
from tests.support.member_chat import count, joined, member_of


def test_a_member_joins_claims_answers_invites_checks_in_and_leaves(dialogs, services, db, clock):
    alice = ChatUser(dialogs, "alice", language="en")
    verify_dialog(
        alice,
        [
            ("/start", ["Welcome to Members' Club", "Agree and join"]),
            ("tap:Agree", ["Welcome aboard, Alice", "M000001"]),
            ("/points", ["0 points", "M000001"]),
            ("/coupons", ["Coupons you can claim now", "NT$50 off for new members"]),
        ],
    )
    me = member_of(db, alice).id

    # Claim: a card with the code, a countdown and how to use it.
    alice.tap("Claim: NT$50 off for new members")
    with db.reader() as session:
        grant = session.exec(select(CouponGrant).where(CouponGrant.member_id == me)).one()
    assert grant.code in alice.text
    assert "Expires: in 4 weeks (2026-04-01 10:00)" in alice.text
    assert "Show this code to our staff when you pay." in alice.text
    verify_dialog(alice, [("/coupons", ["Your coupons (1)", grant.code, "already claimed"])])

    # At the counter: staff record the sale and redeem her coupon; she is told what she earned.
    staff = ChatUser(dialogs, "staff", language="en")  # an admin (LOYALTY_ADMINS in `services`)
    staff.say("/sale M000001 1200 POS-1")
    assert "M000001" in staff.text and "1,200" in staff.text
    [earned] = staff.last.notices
    assert earned.member_id == me and "1,200" in earned.reply.as_text()
    staff.say(f"/use {grant.code}")
    assert "NT$50 off for new members" in staff.text
    with db.reader() as session:
        assert session.get(CouponGrant, grant.id).status == "redeemed"
    verify_dialog(alice, [("/points", ["1,200 points", "NT$3,800 more to reach Silver"])])
    verify_dialog(
        alice,
        [
            (
                "/tier",
                [
                    "Member",
                    "1 point per NT$1",
                    "Spend in the last 12 months: NT$1,200",
                    "NT$3,800 more to reach Silver",
                    "▓▓░░░░░░░░ NT$1,200 / NT$5,000",
                    "starting tier",
                ],
            )
        ],
    )

    # The NPS survey: a tap, a typed answer, a skip; the reward once.
    balance_before = member_of(db, alice).points_balance
    verify_dialog(
        alice,
        [
            ("/survey", ["How did we do? (1/3)", "recommend us"]),
            ("tap:9", "(2/3)"),
            ("Evening", "(3/3)"),
            ("tap:Skip", ["Thank you for your answers!", "You earned 20 points"]),
        ],
    )
    assert member_of(db, alice).points_balance == balance_before + 20
    assert count(db, LedgerEntry, LedgerEntry.source == "survey") == 1
    with db.reader() as session:
        answers = session.exec(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()
        assert current_question(session, member_id=me) is None
    assert [(a.value_int, a.value_text, a.skipped) for a in answers] == [
        (9, None, False),
        (3, "晚上", False),  # a choice is stored in the programme's language
        (None, None, True),
    ]
    verify_dialog(alice, [("/survey", "There's no survey for you right now")])
    assert count(db, LedgerEntry, LedgerEntry.source == "survey") == 1

    # An invite accepted by a friend: both rewarded, the referrer told in her language.
    verify_dialog(alice, [("/invite", ["Your invite code", "you get 100 points"])])
    code = member_of(db, alice).invite_code
    assert code in alice.text
    bob = ChatUser(dialogs, "bob")  # a zh-TW speaker
    bob.say(f"/start {code}")
    bob.tap("同意")
    assert "您透過好友邀請加入，獲得 50 點" in bob.text
    [notice] = bob.last.notices
    assert notice.member_id == me
    assert notice.reply.as_text().startswith("🎉 A friend joined with your invite code!")
    assert "You earned 100 points" in notice.reply.as_text()
    assert member_of(db, bob).points_balance == 50
    assert count(db, LedgerEntry, LedgerEntry.source == "referral") == 2

    # Check in twice on one day: one reward.
    verify_dialog(
        alice,
        [
            ("/checkin", ["Checked in! +5 points", "Check-in streak: 1"]),
            ("/checkin", ["already checked in today", "Come back tomorrow", "opens in 14 hours"]),
        ],
    )
    assert count(db, LedgerEntry, LedgerEntry.source == "checkin") == 1

    # Language, offers off and on again.
    verify_dialog(
        alice,
        [
            ("/lang", ["Which language", "繁體中文", "English"]),
            ("tap:繁體中文", "之後都會用繁體中文"),
            ("/points", "我的點數"),
            ("/stop", ["已為您停止優惠推播", "恢復接收優惠"]),
        ],
    )
    assert member_of(db, alice).locale == "zh-TW"
    assert member_of(db, alice).opted_out is True
    verify_dialog(alice, [("tap:恢復", "歡迎回來")])
    assert member_of(db, alice).opted_out is False

    # Her data, in her language.
    verify_dialog(
        alice,
        [
            (
                "/mydata",
                [
                    "會員編號：M000001",
                    "同意條款：版本 2026-01",
                    "終端機：alice",
                    grant.code,
                    "滿意度調查：已完成",
                    "→ 9",
                    "透過您的邀請加入的好友：1 位",
                    "簽到次數：1",
                ],
            )
        ],
    )

    # Erase: cancel first (nothing changes), then confirm.
    verify_dialog(alice, [("/deleteme", "確定要刪除"), ("tap:取消", "沒有刪除任何資料")])
    assert member_of(db, alice).erased_at is None
    verify_dialog(
        alice, [("/deleteme", "確定要刪除"), ("tap:刪除我的資料", "已刪除（會員 M000001）")]
    )
    with db.reader() as session:
        erased = session.get(Member, me)
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.member_id == me)
        ).one()
    assert erased.erased_at is not None and erased.display_name is None
    assert identity.platform_user_id.startswith("erased:")


def test_a_member_who_comes_back_after_erasure_starts_as_a_stranger(dialogs, db):
    carol = joined(dialogs, "carol")
    carol.say("/deleteme")
    carol.tap("Erase my data")
    verify_dialog(carol, [("/points", "Agree and join")])
    assert count(db, Member) == 2
