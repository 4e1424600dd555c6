"""The member's own settings and data in chat: /lang, /stop, /mydata, /deleteme."""

from sqlmodel import select

from core.chat import Button
from core.models import ChannelIdentity, ChatState, Member
from tests.support.chat import ChatUser, verify_dialog
from tests.support.member_chat import buy, count, effect_counts, joined, member_of


def test_lang_switches_every_later_reply(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            ("/lang zh-tw", "之後都會用繁體中文"),
            ("/points", "我的點數"),
            ("/lang", "請選擇語言"),
            ("tap:English", "I'll talk to you in English"),
            ("/help", "Here is what I can do"),
        ],
    )
    assert member_of(db, alice).locale == "en"


def test_lang_works_before_joining_too(dialogs, db):
    stranger = ChatUser(dialogs, "stranger")
    verify_dialog(stranger, [("/lang en", "English from now on"), ("/start", "Agree and join")])
    assert member_of(db, stranger).locale == "en"


def test_an_unknown_language_changes_nothing_and_offers_the_known_ones(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(alice, [("/lang xx", ["I don't speak “xx” yet", "Which language"])])
    assert [b.payload for b in alice.buttons] == ["lang:zh-TW", "lang:en"]
    alice.press(Button("Klingon", "lang:tlh"))
    assert "I don't speak “tlh” yet" in alice.text
    assert member_of(db, alice).locale == "en"


def test_stop_explains_itself_and_resumes_by_button_or_start(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            ("/stop", ["won't send you promotions any more", "points, tier and coupons stay"]),
            ("/stop", "already off"),
        ],
    )
    assert member_of(db, alice).opted_out is True
    verify_dialog(alice, [("tap:Resume offers", "We'll send you offers again")])
    assert member_of(db, alice).opted_out is False
    verify_dialog(
        alice, [("/stop", "won't send you"), ("/start", ["Welcome back", "offers again"])]
    )
    assert member_of(db, alice).opted_out is False


def test_mydata_lists_what_we_keep(dialogs, services, db):
    alice = joined(dialogs, "alice")
    me = member_of(db, alice)
    buy(services, me.id, 480, "POS-77")
    alice.say("/checkin")
    verify_dialog(
        alice,
        [
            (
                "/mydata",
                [
                    "Member number: M000001",
                    "Name: Alice",
                    "Consent: terms version 2026-01, given 2026-03-02 10:00",
                    "Linked chat accounts\nconsole: alice (since 2026-03-02 10:00)",
                    "Tier: Member",
                    "Points: 485 (pending 0; earned in total 485)",
                    "2026-03-02 10:00  +5  check-in",
                    "2026-03-02 10:00  +480  purchase",
                    "1 purchases, NT$480 in total",
                    "POS-77",
                    "Check-ins: 1",
                    "You joined without an invite",
                    f"Invite code: {me.invite_code}",
                ],
            )
        ],
    )
    assert all(len(part) < 4000 for part in alice.reply.texts)


def test_mydata_shows_the_newest_ledger_entries_and_how_many_more(dialogs, services, db):
    alice = joined(dialogs, "alice")
    for n in range(12):
        buy(services, member_of(db, alice).id, 100 + n, f"POS-{n}")
    alice.say("/mydata")
    assert "POS-11" in alice.text and "POS-2" in alice.text
    assert "POS-1 " not in alice.text
    assert "… and 2 earlier" in alice.text


def test_deleteme_cancelled_changes_nothing(dialogs, db):
    alice = joined(dialogs, "alice")
    before = effect_counts(db)
    verify_dialog(
        alice,
        [
            ("/deleteme", ["erases your personal data", "Erase my data", "Cancel"]),
            ("tap:Cancel", "Nothing was erased"),
        ],
    )
    member = member_of(db, alice)
    assert member.erased_at is None and member.display_name == "Alice"
    assert effect_counts(db) == before
    assert count(db, ChatState) == 0


def test_deleteme_confirmed_by_a_typed_word_erases(dialogs, db):
    alice = joined(dialogs, "alice")
    me = member_of(db, alice).id
    verify_dialog(alice, [("/deleteme", "really want"), ("erase", "Your personal data is erased")])
    with db.reader() as session:
        member = session.get(Member, me)
        identity = session.exec(select(ChannelIdentity)).one()
    assert member.erased_at is not None
    assert identity.platform_user_id.startswith("erased:")


def test_an_erase_tap_without_a_fresh_confirmation_only_asks_again(dialogs, db, clock):
    alice = joined(dialogs, "alice")
    alice.say("/deleteme")
    erase = alice.button("Erase my data")
    clock.advance(minutes=31)  # the question expired
    alice.press(erase)
    assert "Do you really want to erase your data?" in alice.text
    assert member_of(db, alice).erased_at is None
    alice.press(Button("Erase", "erase:yes"))  # the question is fresh again
    assert "Your personal data is erased" in alice.text


def test_the_goodbye_is_in_the_members_language(dialogs, db):
    chen = joined(dialogs, "chen", language=None)
    me = member_of(db, chen).id
    verify_dialog(chen, [("/deleteme", "確定要刪除"), ("tap:刪除我的資料", "再見")])
    with db.reader() as session:
        assert session.get(Member, me).erased_at is not None
