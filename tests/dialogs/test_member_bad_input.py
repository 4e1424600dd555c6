"""Anything odd a member sends gets a helpful answer and changes nothing (issue 3, acceptance 5,
member side): unknown commands, empty and huge texts, emoji, malformed arguments and tampered
button payloads. No exception reaches the member, and none is even logged."""

import logging

import pytest

from core.chat import Button
from tests.support.member_chat import effect_counts, joined, member_of

UNEXPECTED = "something went wrong on our side"

MESSAGES = [
    ("/frobnicate", "I don't know /frobnicate"),
    ("", "Here is what I can do"),
    ("   ", "Here is what I can do"),
    ("x" * 10_240, "too long"),
    ("🙂🎉🍵", "Sorry, I didn't get that"),
    ("/lang xx", "I don't speak “xx” yet"),
    ("/lang", "Which language"),
    ("/lang en zh-TW", "I don't speak"),
    ("/coupons 🎟️ extra", "Coupons you can claim now"),
    ("/checkin now please", "Checked in"),  # arguments are ignored, not misread
    ("/survey 9", "(1/3)"),
    ("/deleteme " + "y" * 500, "really want"),
    ("\x00\x01", "Sorry, I didn't get that"),
]

# Commands that work despite extra words: they write what they always write.
DOES_SOMETHING = {"/checkin now please", "/survey 9"}

PAYLOADS = [
    ("claim:NOPE", "that coupon doesn't exist"),
    ("claim:", "that coupon doesn't exist"),
    ("claim:#99999", "that coupon doesn't exist"),
    ("claim:#abc", "that coupon doesn't exist"),
    ("claim:WELCOME50:extra", "that coupon doesn't exist"),
    ("sv:x:y:z", "no longer active"),
    ("sv:nps:0:hello", "no longer active"),
    ("sv:nps:-1:5", "no longer active"),
    ("sv:#1x:0:5", "no longer active"),
    ("sv:nps:5:5", "no longer active"),
    ("svgo:nope", "that survey isn't available"),
    ("svgo:", "no longer active"),
    ("svstop:nps", "no survey in progress"),
    ("lang:xx", "I don't speak “xx” yet"),
    ("lang:", "Which language"),
    ("erase:maybe", "really want"),
    ("erase:yes", "really want"),  # not confirmed first: asks, erases nothing
    ("optin:now", "Offers are on"),
    ("nonsense", "Here is what I can do"),
    ("cmd:doesnotexist", "I don't know /doesnotexist"),
    ("consent:1999-01", "Welcome back"),
]


@pytest.fixture
def member(dialogs):
    return joined(dialogs, "alice")


@pytest.mark.parametrize(("text", "expected"), MESSAGES, ids=lambda v: repr(v)[:24])
def test_odd_messages_get_a_helpful_answer(member, db, caplog, text, expected):
    counts = None if text in DOES_SOMETHING else effect_counts(db)
    with caplog.at_level(logging.ERROR):
        member.say(text)
    assert expected in member.text
    assert UNEXPECTED not in member.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    if counts is not None:
        assert effect_counts(db) == counts
    assert member_of(db, member).locale == "en"


@pytest.mark.parametrize(("payload", "expected"), PAYLOADS, ids=lambda v: str(v)[:24])
def test_tampered_buttons_change_nothing(member, db, caplog, payload, expected):
    before = effect_counts(db)
    state = member_of(db, member)
    with caplog.at_level(logging.ERROR):
        member.press(Button("?", payload))
    assert expected in member.text
    assert UNEXPECTED not in member.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert effect_counts(db) == before
    after = member_of(db, member)
    assert (after.locale, after.opted_out, after.erased_at, after.points_balance) == (
        state.locale,
        state.opted_out,
        state.erased_at,
        state.points_balance,
    )


def test_a_tampered_answer_for_a_later_question_is_ignored(member, db):
    member.say("/survey")
    before = effect_counts(db)
    member.press(Button("?", "sv:nps:2:1"))
    assert "That button was for another question" in member.text
    assert "(1/3)" in member.text
    assert effect_counts(db) == before
