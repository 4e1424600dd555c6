"""Joining: first contact, consent, the points card, help and unclear messages."""

from sqlmodel import select

from core.models import Member
from tests.support.chat import ChatUser, verify_dialog


def test_a_new_user_is_asked_for_consent_and_joins(dialogs, db):
    alice = ChatUser(dialogs, "alice", language="en")
    verify_dialog(
        alice,
        [
            ("/start", ["Welcome to", "privacy policy (version 2026-01)", "Agree and join"]),
            ("tap:Agree", ["Welcome aboard, Alice", "M000001"]),
            ("/points", ["My points", "0 points", "M000001"]),
        ],
    )
    with db.reader() as session:
        member = session.exec(select(Member)).one()
    assert member.stage == "interest"
    assert member.consent_version == "2026-01"


def test_member_commands_before_joining_lead_to_the_consent_question(dialogs, db):
    bob = ChatUser(dialogs, "bob", language="en")
    verify_dialog(bob, [("/points", "Agree and join")])
    with db.reader() as session:
        assert session.exec(select(Member)).one().consent_at is None


def test_chinese_is_the_default_language(dialogs):
    chen = ChatUser(dialogs, "chen")
    verify_dialog(chen, [("/start", ["歡迎來到", "同意並加入"]), ("tap:同意", "歡迎加入")])


def test_unknown_commands_and_gibberish_get_help(dialogs):
    dora = ChatUser(dialogs, "dora", language="en")
    dora.say("/start")
    dora.tap("Agree")
    verify_dialog(
        dora,
        [
            ("/frobnicate", "I don't know /frobnicate"),
            ("", "Here is what I can do"),
            ("🙂🙂🙂", "Sorry, I didn't get that"),
            ("x" * 10_000, "too long"),
            ("points", "My points"),
        ],
    )
