"""Staff at the counter: /sale, /use, /grant, /member and /stats, with notices to members."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.coupons import claim_coupon
from core.models import AuditLog, CouponGrant, LedgerEntry, Member, Purchase
from tests.support.chat import ChatUser, verify_dialog


def joined(dialogs, name, language=None):
    user = ChatUser(dialogs, name, language=language)
    user.say("/start")
    user.tap("同意" if language is None else "Agree")
    return user


def member_row(db, number):
    with db.reader() as session:
        return session.get(Member, int(number[1:]))


def claim(services, member_id, coupon="WELCOME50"):
    with services.database.session() as session:
        return claim_coupon(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=member_id,
            coupon_code=coupon,
            channel="console",
        )


def count(db, model, *where):
    with db.reader() as session:
        return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()


@pytest.fixture
def staff(dialogs):
    return ChatUser(dialogs, "staff", language="en")


def test_a_sale_earns_points_moves_the_stage_and_tells_the_member_in_their_language(
    dialogs, staff, db
):
    alice = joined(dialogs, "alice")  # a zh-TW member
    verify_dialog(
        staff,
        [
            (
                "/sale M000001 350 POS-1",
                [
                    "Sale recorded for M000001: NT$350 (order POS-1)",
                    "+350 points → balance 350",
                    "Stage: Action",
                ],
            )
        ],
    )
    [notice] = staff.last.notices
    assert notice.member_id == 1
    assert notice.reply.as_text() == (
        "🧾 感謝您在會員中心消費！消費 $350，獲得 350 點。目前點數：350 點。"
    )
    member = member_row(db, "M000001")
    assert (member.points_balance, member.stage, member.purchase_count) == (350, "action", 1)
    with db.reader() as session:
        audit = session.exec(select(AuditLog).where(AuditLog.action == "command:sale")).one()
    assert (audit.actor, audit.target, audit.allowed) == ("console:staff", "M000001", True)
    assert audit.details == {"order_id": "POS-1", "amount": "350.00", "points": 350}
    alice.say("/points")
    assert "350 點" in alice.text


def test_a_redelivered_sale_is_recorded_once_and_the_member_is_told_once(dialogs, staff, db):
    joined(dialogs, "alice", "en")
    staff.say("/sale M000001 200")
    first = staff.text
    staff.resend()
    assert staff.text == first
    assert staff.last.notices == []
    assert count(db, Purchase) == 1
    assert count(db, LedgerEntry, LedgerEntry.kind == "earn") == 1
    assert count(db, AuditLog, AuditLog.action == "command:sale") == 1
    assert member_row(db, "M000001").points_balance == 200
    staff.say("/sale M000001 200")  # a new message: a second sale
    assert count(db, Purchase) == 2


def test_a_repeated_order_id_is_not_a_second_sale(dialogs, staff, db):
    joined(dialogs, "alice", "en")
    staff.say("/sale M000001 200 POS-9")
    verify_dialog(
        staff,
        [("/sale M000001 999 POS-9", "Order POS-9 was already recorded for M000001 (NT$200")],
    )
    assert staff.last.notices == []
    assert count(db, Purchase) == 1
    assert member_row(db, "M000001").points_balance == 200


def test_a_sale_by_phone_on_member_day_names_the_promotion_and_the_upgrade(
    dialogs, staff, db, clock
):
    joined(dialogs, "bob", "en")
    with db.session() as session:
        session.get(Member, 1).phone = "+886912345678"
        session.commit()
    clock.set(datetime(2026, 3, 18, 4, 0, tzinfo=UTC))  # the 18th: member day
    staff.say("/sale 0912345678 5000")
    assert "+10,000 points → balance 10,000" in staff.text
    assert "Promotion: Member day double points" in staff.text
    assert "Upgraded to Silver" in staff.text
    notice = staff.last.notices[0].reply.as_text()
    assert "You earned 10,000 points for NT$5,000" in notice
    assert "you are now Silver" in notice
    assert member_row(db, "M000001").tier == "silver"


def test_staff_redeem_a_claimed_coupon_once(dialogs, services, staff, db):
    joined(dialogs, "alice", "en")
    code = claim(services, 1).code
    verify_dialog(
        staff,
        [
            (
                f"/use {code.lower()}",
                [
                    f"Coupon {code} of M000001 is redeemed.",
                    "Give: NT$50 off, minimum spend NT$200 (“NT$50 off for new members”)",
                ],
            )
        ],
    )
    assert staff.last.notices[0].member_id == 1
    assert code in staff.last.notices[0].reply.as_text()
    with db.reader() as session:
        grant = session.exec(select(CouponGrant)).one()
    assert (grant.status, grant.redeemed_by) == ("redeemed", "console:staff")
    verify_dialog(staff, [(f"/use {code}", f"Coupon {code} was already used on 2026-03-02 10:00")])
    assert staff.last.notices == []
    assert count(db, AuditLog, AuditLog.action == "command:use") == 1


def test_a_code_typed_with_a_space_works_and_an_unknown_one_is_explained(dialogs, services, staff):
    joined(dialogs, "alice", "en")
    code = claim(services, 1).code
    verify_dialog(
        staff,
        [
            ("/use ZZZZ-ZZZZ", "No coupon has the code “ZZZZ-ZZZZ”"),
            (f"/use {code.replace('-', ' ')}", "is redeemed"),
        ],
    )


def test_an_expired_coupon_cannot_be_used(dialogs, services, staff, clock, db):
    joined(dialogs, "alice", "en")
    code = claim(services, 1).code
    clock.advance(days=31)
    verify_dialog(staff, [(f"/use {code}", f"Coupon {code} expired on 2026-04-01")])
    with db.reader() as session:
        assert session.exec(select(CouponGrant)).one().redeemed_at is None


def test_grant_adds_points_with_the_reason_and_tells_the_member(dialogs, staff, db):
    joined(dialogs, "alice", "en")
    verify_dialog(
        staff,
        [
            (
                "/grant M000001 50 sorry for the wait",
                "50 points granted to M000001 (sorry for the wait). Balance: 50.",
            )
        ],
    )
    assert staff.last.notices[0].reply.as_text() == (
        "🎁 You received 50 points: sorry for the wait. Your balance: 50 points."
    )
    staff.resend()
    with db.reader() as session:
        entry = session.exec(select(LedgerEntry)).one()
    assert (entry.amount, entry.kind, entry.reason, entry.actor) == (
        50,
        "adjust",
        "sorry for the wait",
        "console:staff",
    )
    assert staff.last.notices == []


def test_member_shows_the_card(dialogs, services, staff):
    joined(dialogs, "alice", "en")
    claim(services, 1)
    staff.say("/sale M000001 120")
    alice_card = staff.say("/member M000001")
    text = alice_card.reply.as_text()
    for piece in (
        "【Alice】",
        "M000001",
        "Tier: Member",
        "Stage: Action",
        "Activity: active",
        "Points: 120 available",
        "Purchases: 1 · NT$120 · last on Mar 2, 2026",
        "Coupons held: 1",
        "Channels: console",
        "Consent given: 2026-03-02 10:00",
    ):
        assert piece in text, f"{piece!r} not in:\n{text}"
    assert "Note:" not in text


def test_member_shows_opt_out_and_a_prospect(dialogs, staff, db):
    joined(dialogs, "alice", "en")
    ChatUser(dialogs, "bob", language="en").say("hello")
    with db.session() as session:
        session.get(Member, 1).opted_out = True
        session.commit()
    assert "Note: opted out of promotions" in staff.say("/member M1").reply.as_text()
    assert "Consent given: not joined yet" in staff.say("/member M000002").reply.as_text()
    verify_dialog(staff, [("/member M000099", "No member matches “M000099”")])


def test_nothing_is_recorded_for_someone_who_has_not_joined(dialogs, staff, db):
    ChatUser(dialogs, "bob", language="en").say("hello")
    verify_dialog(
        staff,
        [
            ("/sale M000001 100", "M000001 has not joined the programme yet"),
            ("/grant M000001 100 welcome", "M000001 has not joined the programme yet"),
        ],
    )
    assert count(db, Purchase) == 0
    assert count(db, LedgerEntry) == 0


def test_stats_show_the_funnel_conversion_and_the_biggest_drop(dialogs, services, staff):
    joined(dialogs, "alice", "en")
    joined(dialogs, "bob", "en")
    ChatUser(dialogs, "carol").say("hi")  # first contact only
    claim(services, 1)
    staff.say("/sale M000001 500")
    staff.say("/use " + claim(services, 2).code)
    verify_dialog(
        staff,
        [
            (
                "/stats",
                [
                    "📊 Last 30 days",
                    "Awareness: 4",  # alice, bob, carol and staff
                    "Interest: 2 (50%)",
                    "Decision: 2 (100%)",
                    "Action: 1 (50%)",
                    "Loyalty: 0 (0%)",
                    "Biggest drop: Action → Loyalty (100% do not move on)",
                    "New members: console 2",
                    "Purchases: 1",
                    "Revenue: NT$500",
                    "Average order: NT$500",
                    "Repeat buyers: 0%",
                    "Coupons redeemed: 1 of 2 claimed (50%)",
                ],
            ),
            ("/stats 7", "📊 Last 7 days"),
        ],
    )


def test_stats_in_chinese_and_for_an_empty_programme(dialogs):
    boss = ChatUser(dialogs, "staff")
    verify_dialog(boss, [("/stats", "目前還沒有會員")])
    joined(dialogs, "alice")
    verify_dialog(boss, [("/stats", ["最近 30 天", "興趣: 1 (50%)", "流失最多：興趣 → 決策"])])


def test_without_event_ids_each_sale_message_is_a_new_sale(dialogs, db):
    joined(dialogs, "alice", "en")
    console_staff = ChatUser(dialogs, "staff", language="en", event_ids=False)
    console_staff.say("/sale M000001 100")
    console_staff.resend()
    assert count(db, Purchase) == 2
    assert len(console_staff.last.notices) == 1
    assert count(db, AuditLog, AuditLog.action == "command:sale") == 2
