"""/survey as a conversation: buttons and typed answers, skip, stop and resume, stale taps, and
progress that survives a restart (issue 3, acceptance 3)."""

import pytest
from sqlmodel import select

from bot.app import Services
from bot.dialogs import Dialogs
from core.chat import Button
from core.kernel import Database
from core.models import LedgerEntry, SurveyAnswer, SurveyProgress
from core.programme import Programme
from tests.support.chat import verify_dialog
from tests.support.member_chat import count, effect_counts, joined
from tests.support.surveys import with_taste


def answers(db):
    with db.reader() as session:
        rows = session.exec(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()
    return [(row.value_int, row.value_text, row.skipped) for row in rows]


def test_the_nps_question_offers_eleven_buttons_and_stop_but_no_skip(dialogs):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    labels = [button.label for button in alice.buttons]
    assert labels == [str(n) for n in range(11)] + ["Stop"]  # required: no Skip
    assert alice.button("Stop").payload == "svstop:nps"
    assert [b.payload for b in alice.buttons[:2]] == ["sv:nps:0:0", "sv:nps:0:1"]


def test_typed_answers_are_taken_for_numbers_and_choice_words(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            ("/survey", "(1/3)"),
            ("9", ["(2/3)", "Morning", "Skip"]),
            ("noon", "(3/3)"),
            ("The latte was great", "Thank you for your answers!"),
        ],
    )
    assert answers(db) == [
        (9, None, False),
        (2, "中午", False),
        (None, "The latte was great", False),
    ]


def test_a_typed_answer_out_of_range_is_refused_and_asked_again(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    verify_dialog(
        alice,
        [
            ("11", ["whole number from 0 to 10", "(1/3)"]),
            ("🙂", ["whole number from 0 to 10", "(1/3)"]),
        ],
    )
    assert answers(db) == []


def test_a_command_word_during_a_number_question_is_the_command(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    verify_dialog(alice, [("points", "My points"), ("7", "(2/3)")])
    assert answers(db) == [(7, None, False)]


def test_skipping_an_optional_question_by_button_and_by_word(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [("/survey", "(1/3)"), ("tap:10", "(2/3)"), ("tap:Skip", "(3/3)"), ("skip", "Thank you")],
    )
    assert answers(db) == [(10, None, False), (None, None, True), (None, None, True)]


def test_a_tampered_skip_of_a_required_question_is_refused(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    alice.press(Button("Skip", "sv:nps:0:skip"))
    assert "This question needs an answer; it can't be skipped." in alice.text
    assert "(1/3)" in alice.text
    assert answers(db) == []


def test_stop_and_resume_where_it_stopped(dialogs, db):
    alice = joined(dialogs, "alice")
    verify_dialog(
        alice,
        [
            ("/survey", "(1/3)"),
            ("tap:6", "(2/3)"),
            ("tap:Stop", ["paused after 1 of 3 questions", "Continue the survey"]),
            ("tap:Continue", ["continue where you left off", "(2/3)"]),
            ("tap:Stop", "paused after 1 of 3 questions"),
            ("Morning", "Sorry, I didn't get that"),  # no survey waits for an answer now
            ("/survey", ["continue where you left off", "(2/3)"]),
            ("tap:Morning", "(3/3)"),
        ],
    )
    assert answers(db) == [(6, None, False), (1, "早上", False)]


def test_a_stale_or_repeated_tap_changes_nothing(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    eight = alice.button("8")
    alice.press(eight)
    before = effect_counts(db)
    alice.press(eight)  # tapped again, on the old question
    assert "That button was for another question" in alice.text
    assert "(2/3)" in alice.text
    assert effect_counts(db) == before
    assert answers(db) == [(8, None, False)]


def test_the_reward_is_credited_once_and_the_survey_is_not_offered_again(dialogs, db):
    alice = joined(dialogs, "alice")
    alice.say("/survey")
    alice.tap("5")
    alice.tap("Skip")
    last = alice.button("Skip")
    alice.press(last)
    assert "You earned 20 points" in alice.text
    alice.press(last)
    assert "You earned" not in alice.text
    assert count(db, LedgerEntry, LedgerEntry.source == "survey") == 1
    verify_dialog(alice, [("/survey", "There's no survey for you right now")])


class TestSeveralSurveys:
    @pytest.fixture
    def programme(self):
        return with_taste(Programme())

    def test_the_member_chooses_one_and_a_rating_has_five_buttons_and_skip(self, dialogs, db):
        alice = joined(dialogs, "alice")
        verify_dialog(
            alice,
            [
                ("/survey", ["Which survey", "How did we do?", "Tasting"]),
                ("tap:Tasting", ["Tasting (1/4)", "How likely would you recommend it?"]),
                ("tap:Skip", ["(2/4)", "How many stars?", "1 = poor, 5 = excellent"]),
            ],
        )
        assert [b.label for b in alice.buttons] == ["1", "2", "3", "4", "5", "Stop"]
        verify_dialog(alice, [("6", "whole number from 1 to 5"), ("4", "(3/4)")])
        with db.reader() as session:
            progress = session.exec(select(SurveyProgress)).one()
        assert (progress.position, progress.status) == (2, "in_progress")


def test_a_survey_survives_a_restart_of_the_process(dialogs, services, db, database_url):
    """Acceptance 3: a new Database and Dialogs on the same URL take the next typed answer."""
    alice = joined(dialogs, "alice")
    verify_dialog(alice, [("/survey", "(1/3)"), ("tap:9", "(2/3)")])

    restarted_db = Database(database_url)
    try:
        restarted = Dialogs(
            Services(
                settings=services.settings,
                database=restarted_db,
                programme=Programme(),
                clock=services.clock,
            )
        )
        alice.dialogs = restarted
        verify_dialog(alice, [("Evening", "(3/3)"), ("Lovely staff", "You earned 20 points")])
    finally:
        restarted_db.dispose()
    assert answers(db) == [(9, None, False), (3, "晚上", False), (None, "Lovely staff", False)]
