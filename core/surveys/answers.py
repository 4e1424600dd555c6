"""Answering a survey question: typed or tapped, skip, repeats, completion and its reward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, select

from core.funnel import log_event
from core.kernel import (
    AnswerOutOfOrder,
    AnswerRequired,
    Clock,
    InvalidInput,
    SurveyAlreadyDone,
    SurveyNotFound,
    SurveyNotInProgress,
    run_once,
)
from core.models import Member, Survey, SurveyAnswer, SurveyProgress, SurveyQuestion
from core.points import capped_activity_points, credit, lock_member
from core.programme import Programme
from core.stats import note_answer, note_survey_completed
from core.surveys.progress import (
    COMPLETED,
    IN_PROGRESS,
    CurrentQuestion,
    active_survey,
    find_progress,
    question_view,
    survey_questions,
)
from core.surveys.values import StoredAnswer, parse_answer
from core.tiers import note_qualifying

CODE_MAX = 64


class AnswerResult(BaseModel):
    survey_code: str
    progress_id: int
    position: int
    """The question this answer was for."""
    skipped: bool
    completed: bool
    next_question: CurrentQuestion | None
    reward_points: int
    """Points credited for completing; below the survey's reward when the daily cap bit."""
    reward_capped: bool
    upgraded_to: str | None
    balance: int


@dataclass
class _Turn:
    """One answer's context, read under the member's lock."""

    session: Session
    member: Member
    survey: Survey
    progress: SurveyProgress
    questions: list[SurveyQuestion]
    now: datetime
    channel: str


def answer_question(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    member_id: int,
    survey_code: str,
    position: int,
    value: str | int | None,
    channel: str,
    skip: bool = False,
) -> AnswerResult:
    """Answer (or skip, if not required) the question at `position`; the last answer
    completes the survey and credits its reward once, within the daily activity cap.

    An answer for a position already answered (a repeated tap, a redelivered webhook)
    returns the first result and changes nothing; one for a later position raises
    AnswerOutOfOrder; a bad value raises InvalidAnswer with what is accepted."""
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise InvalidInput("position must be a whole number from 0", position=str(position))
    if len(survey_code) > CODE_MAX:
        raise SurveyNotFound("no such survey", survey=survey_code[:CODE_MAX])
    now = clock.now()

    def work() -> AnswerResult:
        turn = _begin(
            session, member_id=member_id, survey_code=survey_code, now=now, channel=channel
        )
        if position < turn.progress.position:
            return _replay(turn, position=position)
        _check_turn(turn.progress, position=position, survey_code=survey_code)
        question = turn.questions[position]
        stored = _to_store(question, value=value, skip=skip, locale=programme.locale)
        _record(turn, question=question, stored=stored, skipped=skip)
        note_answer(
            session,
            kind=question.kind,
            value=stored.value_int,
            skipped=skip,
            now=now,
            programme=programme,
        )
        if turn.progress.position < len(turn.questions):
            following = question_view(session, survey=turn.survey, progress=turn.progress)
            return _result(turn, position=position, skipped=skip, next_question=following)
        return _complete(turn, position=position, skipped=skip, programme=programme)

    return run_once(
        session,
        key=f"survey_answer:{member_id}:{survey_code}:{position}",
        operation="answer_question",
        # The value is left out on purpose: a stale button tapped with another value is
        # still a repeat, and gets the first result rather than a conflict.
        request={"member_id": member_id, "survey_code": survey_code, "position": position},
        result_type=AnswerResult,
        now=now,
        work=work,
    )


def _begin(
    session: Session, *, member_id: int, survey_code: str, now: datetime, channel: str
) -> _Turn:
    member = lock_member(session, member_id)
    survey = active_survey(session, survey_code)
    progress = find_progress(session, member_id=member_id, survey_id=survey.id or 0)
    if progress is None:
        raise SurveyNotInProgress("this survey was not started", survey=survey_code)
    questions = survey_questions(session, survey.id or 0)
    return _Turn(session, member, survey, progress, questions, now, channel)


def _check_turn(progress: SurveyProgress, *, position: int, survey_code: str) -> None:
    if progress.status == COMPLETED:
        raise SurveyAlreadyDone("this survey was already answered", survey=survey_code)
    if progress.status != IN_PROGRESS:
        raise SurveyNotInProgress("this survey is stopped", survey=survey_code)
    if position > progress.position:
        raise AnswerOutOfOrder(
            "that question comes later", position=position, current=progress.position
        )


def _to_store(
    question: SurveyQuestion, *, value: str | int | None, skip: bool, locale: str
) -> StoredAnswer:
    if not skip:
        return parse_answer(
            kind=question.kind, value=value, choices=question.choices, locale=locale
        )
    if question.required:
        raise AnswerRequired("this question cannot be skipped", key=question.key)
    return StoredAnswer(None, None)


def _record(turn: _Turn, *, question: SurveyQuestion, stored: StoredAnswer, skipped: bool) -> None:
    turn.session.add(
        SurveyAnswer(
            progress_id=turn.progress.id or 0,
            question_id=question.id or 0,
            value_int=stored.value_int,
            value_text=stored.value_text,
            skipped=skipped,
            created_at=turn.now,
        )
    )
    turn.progress.position += 1
    turn.progress.updated_at = turn.now
    payload: dict[str, object] = {
        "survey": turn.survey.code,
        "key": question.key,
        "skipped": skipped,
    }
    if question.kind != "text":  # free text stays out of the event log: it may be personal
        payload["value"] = stored.value_int
    _log(turn, "survey_answered", payload)


def _complete(turn: _Turn, *, position: int, skipped: bool, programme: Programme) -> AnswerResult:
    """Mark the survey done and credit its reward: once, as the ledger key is the progress's
    (one per member per survey), and no more than the daily activity cap leaves."""
    session, member, progress = turn.session, turn.member, turn.progress
    progress.status = COMPLETED
    progress.completed_at = turn.now
    note_survey_completed(session, now=turn.now, programme=programme)
    wanted = turn.survey.reward_points
    points = capped_activity_points(
        session, member=member, wanted=wanted, now=turn.now, programme=programme
    )
    if points > 0:
        credit(
            session,
            member=member,
            amount=points,
            kind="earn",
            source="survey",
            reason=f"survey {turn.survey.code}",
            actor="system",
            key=f"survey:{progress.id}",
            now=turn.now,
            programme=programme,
        )
    progress.reward_points = points
    upgraded = note_qualifying(
        session,
        member=member,
        amount=programme.tiers.growth_per_survey,
        source="survey",
        now=turn.now,
        programme=programme,
        channel=turn.channel,
    )
    payload = {"survey": turn.survey.code, "points": points, "capped": points < wanted}
    _log(turn, "survey_completed", payload)
    return _result(
        turn,
        position=position,
        skipped=skipped,
        next_question=None,
        capped=points < wanted,
        upgraded_to=upgraded,
    )


def _replay(turn: _Turn, *, position: int) -> AnswerResult:
    """What answering `position` gave, rebuilt from the stored state; writes nothing.

    Repeats normally get the first result from the idempotency record; this covers a
    repeat whose record is gone (e.g. pruned)."""
    answer = turn.session.exec(
        select(SurveyAnswer).where(
            SurveyAnswer.progress_id == turn.progress.id,
            SurveyAnswer.question_id == turn.questions[position].id,
        )
    ).first()
    following = None
    if position + 1 < len(turn.questions):
        following = question_view(
            turn.session, survey=turn.survey, progress=turn.progress, position=position + 1
        )
    skipped = bool(answer and answer.skipped)
    return _result(turn, position=position, skipped=skipped, next_question=following)


def _result(
    turn: _Turn,
    *,
    position: int,
    skipped: bool,
    next_question: CurrentQuestion | None,
    capped: bool = False,
    upgraded_to: str | None = None,
) -> AnswerResult:
    completed = next_question is None and turn.progress.status == COMPLETED
    return AnswerResult(
        survey_code=turn.survey.code,
        progress_id=turn.progress.id or 0,
        position=position,
        skipped=skipped,
        completed=completed,
        next_question=next_question,
        reward_points=turn.progress.reward_points if completed else 0,
        reward_capped=capped,
        upgraded_to=upgraded_to,
        balance=turn.member.points_balance,
    )


def _log(turn: _Turn, type: str, payload: dict[str, object]) -> None:
    log_event(
        turn.session,
        member=turn.member,
        channel=turn.channel,
        type=type,
        now=turn.now,
        payload=payload,
    )
