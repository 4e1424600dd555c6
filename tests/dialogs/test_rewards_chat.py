"""/invite and /checkin in chat: codes, deep links, the referrer's notice, streaks, once a day."""

from bot.app import Services
from bot.dialogs import Dialogs
from core.models import Checkin, LedgerEntry, Referral
from tests.support.chat import ChatUser, verify_dialog
from tests.support.member_chat import count, joined, member_of


def test_invite_shows_the_code_the_rewards_and_how_friends_on_line_use_it(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/invite")
    code = member_of(db, alice).invite_code
    assert f"Your invite code: {code}" in alice.text
    assert "you get 100 points and they get 50 points" in alice.text
    assert f"sends {code} in the chat" in alice.text
    assert "t.me" not in alice.text  # the bot's username is not configured


def test_invite_gives_the_telegram_deep_link_when_the_bot_username_is_known(services, db):
    settings = services.settings.model_copy(update={"telegram_bot_username": "CafeLoyaltyBot"})
    dialogs = Dialogs(
        Services(settings=settings, database=db, programme=services.programme, clock=services.clock)
    )
    alice = joined(dialogs, "alice", channel="telegram")
    alice.say("/invite")
    code = member_of(db, alice).invite_code
    assert f"https://t.me/CafeLoyaltyBot?start={code}" in alice.text


def test_a_friend_who_types_the_code_on_line_joins_and_the_referrer_hears_in_her_language(
    dialogs, db
):
    alice = joined(dialogs, "alice", language=None)  # speaks zh-TW
    code = member_of(db, alice).invite_code
    bob = ChatUser(dialogs, "bob", channel="line", language="en")
    verify_dialog(bob, [(code.lower(), "Agree and join"), ("tap:Agree", "earned 50 points")])
    [notice] = bob.last.notices
    assert notice.member_id == member_of(db, alice).id
    assert notice.kind == "referral"
    assert "有好友用您的邀請碼加入了！您獲得 100 點。" in notice.reply.as_text()
    assert member_of(db, alice).points_balance == 100
    with db.reader() as session:
        referral = session.get(Referral, member_of(db, bob).id)
    assert referral.referrer_id == member_of(db, alice).id
    verify_dialog(alice, [("/invite", "已透過您的邀請碼加入的好友：1 位")])


def test_the_notice_says_so_when_the_daily_cap_left_the_referrer_no_points(dialogs, db):
    alice = joined(dialogs, "alice")
    code = member_of(db, alice).invite_code
    texts = []
    for name in ("bob", "carol", "dave"):  # 100 + 100 reach the 200-point daily cap
        friend = ChatUser(dialogs, name, language="en")
        friend.say(f"/start {code}")
        friend.tap("Agree")
        texts.append(friend.last.notices[0].reply.as_text())
    assert "You earned 100 points" in texts[0]
    assert "You earned 100 points" in texts[1]
    assert "reached today's points limit, so no points this time" in texts[2]
    assert member_of(db, alice).points_balance == 200


def test_an_unknown_invite_code_does_not_keep_anyone_out(dialogs, db):
    erin = ChatUser(dialogs, "erin", language="en")
    verify_dialog(
        erin,
        [
            ("/start ABCDEFGH", "Agree and join"),
            ("tap:Agree", ["that invite code can't be used", "join without it"]),
            ("tap:Agree", "Welcome aboard, Erin"),
        ],
    )
    erin_member = member_of(db, erin)
    assert erin_member.referrer_id is None and erin_member.signed_up
    assert count(db, LedgerEntry) == 0


def test_checking_in_twice_on_one_day_rewards_once(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            ("/checkin", ["Checked in! +5 points", "Check-in streak: 1", "Balance: 5 points"]),
            ("/checkin", ["already checked in today (check-in streak: 1)", "opens in 14 hours"]),
            ("checkin", "already checked in today"),
        ],
    )
    assert count(db, Checkin) == 1
    assert count(db, LedgerEntry, LedgerEntry.source == "checkin") == 1
    assert member_of(db, alice).points_balance == 5


def test_a_week_of_check_ins_earns_the_streak_bonus(dialogs, db, clock):
    alice = joined(dialogs, "alice")
    for day in range(1, 7):
        alice.say("/checkin")
        assert f"Check-in streak: {day}." in alice.text
        assert f"Days to your next streak bonus (30 points): {7 - day}" in alice.text
        clock.advance(days=1)
    verify_dialog(
        alice, [("/checkin", ["+35 points", "Check-in streak: 7", "30-point streak bonus"])]
    )
    assert member_of(db, alice).points_balance == 6 * 5 + 35


def test_the_day_turns_at_midnight_in_the_members_time_zone(dialogs, db, clock):
    alice = joined(dialogs, "alice")
    alice.say("/checkin")
    clock.advance(hours=13, minutes=59)  # 23:59 in Taipei
    verify_dialog(alice, [("/checkin", "opens in 60 seconds")])
    clock.advance(minutes=1)
    verify_dialog(alice, [("/checkin", "Check-in streak: 2")])
