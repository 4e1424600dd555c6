"""Surveys: walking through, typed and tapped answers, validation, skipping, stopping and
resuming (once-only answers and rewards: test_survey_answers_once.py)."""

import pytest
from sqlmodel import col, select

import tests.support.surveys as survey_support
from core.kernel import (
    AnswerOutOfOrder,
    AnswerRequired,
    InvalidAnswer,
    MemberNotFound,
    SurveyAlreadyDone,
    SurveyNotFound,
    SurveyNotInProgress,
)
from core.models import (
    IdempotencyRecord,
    LedgerEntry,
    Member,
    QualifyingEntry,
    SurveyAnswer,
    SurveyProgress,
)
from core.surveys import current_question, stop_survey
from tests.support.members import new_member
from tests.support.surveys import answer, count, finish, start, survey_events, walk_to

surveys = survey_support.surveys


def test_a_member_walks_through_the_nps_survey_and_is_rewarded_once(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    first = start(db, clock, member_id)
    assert (first.position, first.total, first.kind, first.required) == (0, 3, "nps", True)
    assert (first.low, first.high) == (0, 10)
    assert first.text["en"].startswith("How likely")

    second = answer(db, clock, surveys, member_id, 0, 9).next_question
    assert (second.position, second.key, second.kind) == (1, "visit", "choice")
    assert [choice["en"] for choice in second.choices] == ["Morning", "Noon", "Evening"]
    third = answer(db, clock, surveys, member_id, 1, "Evening").next_question
    assert (third.position, third.kind, third.required) == (2, "text", False)
    done = answer(db, clock, surveys, member_id, 2, "  Great coffee  ")

    assert done.completed and done.next_question is None
    assert (done.reward_points, done.reward_capped, done.balance) == (20, False, 20)
    with db.session() as session:
        entries = session.exec(select(LedgerEntry)).all()
        assert [(e.amount, e.kind, e.source, e.idempotency_key) for e in entries] == [
            (20, "earn", "survey", f"survey:{done.progress_id}")
        ]
        answers = session.exec(select(SurveyAnswer).order_by(col(SurveyAnswer.id))).all()
        assert [(a.value_int, a.value_text) for a in answers] == [
            (9, None),
            (3, "晚上"),  # the choice's text in the programme's language, for the CSV
            (None, "Great coffee"),
        ]
        progress = session.get(SurveyProgress, done.progress_id)
        assert (progress.status, progress.position, progress.reward_points) == ("completed", 3, 20)
        assert progress.completed_at == clock.now()
    assert survey_events(db, member_id) == [
        "survey_started",
        "survey_answered",
        "survey_answered",
        "survey_answered",
        "survey_completed",
    ]


def test_a_completed_survey_cannot_be_taken_or_completed_again(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    finish(db, clock, surveys, member_id)
    clock.advance(days=1)
    with pytest.raises(SurveyAlreadyDone):
        start(db, clock, member_id)
    with pytest.raises(SurveyAlreadyDone):
        answer(db, clock, surveys, member_id, 3, "again")
    with db.session() as session:
        assert session.get(Member, member_id).points_balance == 20
    assert count(db, LedgerEntry) == 1
    assert count(db, SurveyProgress) == 1


@pytest.mark.parametrize(("basis", "growth"), [("growth", [30]), ("spend", [])])
def test_completing_a_survey_counts_toward_the_tier_when_tiers_count_growth(
    db, clock, surveys, basis, growth
):
    tiers = surveys.tiers.model_copy(update={"basis": basis})
    configured = surveys.model_copy(update={"tiers": tiers})
    member_id = new_member(db, clock, configured)
    finish(db, clock, configured, member_id)
    with db.session() as session:
        rows = session.exec(select(QualifyingEntry).where(QualifyingEntry.source == "survey")).all()
    assert [row.amount for row in rows] == growth


@pytest.mark.parametrize(
    ("typed", "number", "stored"),
    [("2", 2, "中午"), (2, 2, "中午"), ("noon", 2, "中午"), ("  NOON ", 2, "中午"),
     ("晚上", 3, "晚上"), ("３", 3, "晚上"), ("Morning", 1, "早上")],
)  # fmt: skip
def test_a_choice_can_be_typed_as_its_number_or_its_text_in_any_locale(
    db, clock, surveys, typed, number, stored
):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    answer(db, clock, surveys, member_id, 0, 10)
    answer(db, clock, surveys, member_id, 1, typed)
    with db.session() as session:
        row = session.exec(select(SurveyAnswer).order_by(col(SurveyAnswer.id).desc())).first()
    assert (row.value_int, row.value_text) == (number, stored)


@pytest.mark.parametrize(("typed", "stored"), [(" 7 ", 7), ("１０", 10), (0, 0), ("0", 0)])
def test_scores_can_be_typed_with_spaces_or_full_width_digits(db, clock, surveys, typed, stored):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    answer(db, clock, surveys, member_id, 0, typed)
    with db.session() as session:
        assert session.exec(select(SurveyAnswer.value_int)).one() == stored


NPS_RANGE = {"kind": "nps", "low": 0, "high": 10}
RATING_RANGE = {"kind": "rating", "low": 1, "high": 5}
CHOICE_RANGE = {"kind": "choice", "low": 1, "high": 2}
TEXT_LENGTH = {"kind": "text", "min_length": 1, "max_length": 2000}


@pytest.mark.parametrize(
    ("position", "value", "params"),
    [
        (0, 11, NPS_RANGE), (0, -1, NPS_RANGE), (0, "11", NPS_RANGE), (0, "-1", NPS_RANGE),
        (0, "abc", NPS_RANGE), (0, "7.5", NPS_RANGE), (0, None, NPS_RANGE), (0, True, NPS_RANGE),
        (0, "", NPS_RANGE),
        (1, 0, RATING_RANGE), (1, 6, RATING_RANGE), (1, "五", RATING_RANGE),
        (2, 0, CHOICE_RANGE), (2, 3, CHOICE_RANGE), (2, "Medium", CHOICE_RANGE),
        (2, None, CHOICE_RANGE),
        (3, "", TEXT_LENGTH), (3, "   ", TEXT_LENGTH), (3, "x" * 2001, TEXT_LENGTH),
        (3, None, TEXT_LENGTH),
    ],
)  # fmt: skip
def test_an_invalid_answer_is_refused_with_what_is_accepted_and_writes_nothing(
    db, clock, surveys, position, value, params
):
    member_id = new_member(db, clock, surveys)
    walk_to(db, clock, surveys, member_id, position)
    answers_before, events_before = count(db, SurveyAnswer), survey_events(db, member_id)
    with pytest.raises(InvalidAnswer) as refused:
        answer(db, clock, surveys, member_id, position, value, code="taste")
    assert {name: refused.value.params.get(name) for name in params} == params
    assert count(db, SurveyAnswer) == answers_before
    assert survey_events(db, member_id) == events_before
    with db.session() as session:
        assert session.exec(select(SurveyProgress.position)).one() == position
        key = f"survey_answer:{member_id}:taste:{position}"
        assert session.get(IdempotencyRecord, key) is None
    # The refusal left no trace: the same position now takes a valid answer.
    valid = {0: 9, 1: 4, 2: "Large", 3: "x" * 2000}[position]
    assert answer(db, clock, surveys, member_id, position, valid, code="taste").position == position


def test_an_optional_question_can_be_skipped(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id, "taste")
    result = answer(db, clock, surveys, member_id, 0, "ignored", code="taste", skip=True)
    assert result.skipped and result.next_question.key == "stars"
    with db.session() as session:
        row = session.exec(select(SurveyAnswer)).one()
    assert (row.skipped, row.value_int, row.value_text) == (True, None, None)


@pytest.mark.parametrize(("code", "position"), [("taste", 1), ("nps", 0)])
def test_a_required_question_cannot_be_skipped(db, clock, surveys, code, position):
    member_id = new_member(db, clock, surveys)
    walk_to(db, clock, surveys, member_id, position, code=code)
    answers_before = count(db, SurveyAnswer)
    with pytest.raises(AnswerRequired):
        answer(db, clock, surveys, member_id, position, None, code=code, skip=True)
    assert count(db, SurveyAnswer) == answers_before
    with db.session() as session:
        assert session.exec(select(SurveyProgress.position)).one() == position


def test_an_answer_for_a_later_question_is_refused(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    with pytest.raises(AnswerOutOfOrder) as refused:
        answer(db, clock, surveys, member_id, 1, "Noon")
    assert refused.value.params == {"position": 1, "current": 0}
    assert count(db, SurveyAnswer) == 0


def test_answers_need_a_started_survey_that_exists(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    with pytest.raises(SurveyNotInProgress):
        answer(db, clock, surveys, member_id, 0, 9)
    with pytest.raises(SurveyNotFound):
        start(db, clock, member_id, "no_such_survey")
    with pytest.raises(SurveyNotFound):
        answer(db, clock, surveys, member_id, 0, 9, code="x" * 300)
    with pytest.raises(MemberNotFound):
        start(db, clock, 999)
    assert count(db, SurveyProgress) == 0


def test_a_stopped_survey_resumes_where_it_stopped(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    answer(db, clock, surveys, member_id, 0, 8)
    with db.session() as session:
        stopped = stop_survey(session, clock=clock, member_id=member_id, channel="console")
        assert (stopped.survey_code, stopped.position, stopped.total) == ("nps", 1, 3)
        assert current_question(session, member_id=member_id) is None
    with pytest.raises(SurveyNotInProgress):
        answer(db, clock, surveys, member_id, 1, "Noon")

    clock.advance(days=2)
    resumed = start(db, clock, member_id)
    assert (resumed.position, resumed.key) == (1, "visit")
    answer(db, clock, surveys, member_id, 1, "Noon")
    done = answer(db, clock, surveys, member_id, 2, None, skip=True)
    assert done.completed and done.reward_points == 20
    assert survey_events(db, member_id).count("survey_started") == 2
    assert "survey_stopped" in survey_events(db, member_id)


def test_stopping_needs_a_survey_in_progress(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    with db.session() as session, pytest.raises(SurveyNotInProgress):
        stop_survey(session, clock=clock, member_id=member_id, channel="console")
    finish(db, clock, surveys, member_id)
    with db.session() as session, pytest.raises(SurveyAlreadyDone):
        stop_survey(session, clock=clock, member_id=member_id, channel="console", survey_code="nps")


def test_the_current_question_follows_the_survey_started_last(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    with db.session() as session:
        assert current_question(session, member_id=member_id) is None
    start(db, clock, member_id, "nps")
    answer(db, clock, surveys, member_id, 0, 7)
    clock.advance(minutes=1)
    start(db, clock, member_id, "taste")
    with db.session() as session:
        current = current_question(session, member_id=member_id)
        assert (current.survey_code, current.position, current.key) == ("taste", 0, "score")
        statuses = dict(session.exec(select(SurveyProgress.survey_id, SurveyProgress.status)).all())
    assert sorted(statuses.values()) == ["in_progress", "stopped"]
    # The other survey kept its place.
    assert start(db, clock, member_id, "nps").position == 1
