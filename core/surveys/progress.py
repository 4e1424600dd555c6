"""Where a member is in a survey: lookups and the question view shared by the survey use cases.

`SurveyProgress.position` is the next question to answer (0-based). Every change to a
member's progress happens under the member's row lock, so reading it after the lock is
reading it as of now.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import SurveyNotFound
from core.models import Survey, SurveyProgress, SurveyQuestion
from core.surveys.values import answer_range

IN_PROGRESS, COMPLETED, STOPPED = "in_progress", "completed", "stopped"


class CurrentQuestion(BaseModel):
    """The question a member is to answer next, with what the dialogs need to show it."""

    survey_code: str
    survey_title: dict[str, str]
    progress_id: int
    position: int
    """0-based; shown as position + 1 of total."""
    total: int
    key: str
    kind: str
    text: dict[str, str]
    choices: list[dict[str, str]]
    required: bool
    low: int | None
    high: int | None
    """The whole numbers accepted (NPS 0–10, rating 1–5, choice 1–n); None for text."""


def active_survey(session: Session, code: str) -> Survey:
    survey = session.exec(select(Survey).where(Survey.code == code)).one_or_none()
    if survey is None or not survey.active:
        raise SurveyNotFound("no such survey", survey=code)
    return survey


def find_progress(session: Session, *, member_id: int, survey_id: int) -> SurveyProgress | None:
    return session.exec(
        select(SurveyProgress)
        .where(SurveyProgress.member_id == member_id, SurveyProgress.survey_id == survey_id)
        .execution_options(populate_existing=True)  # as of the member's lock, not a stale copy
    ).one_or_none()


def survey_questions(session: Session, survey_id: int) -> list[SurveyQuestion]:
    return list(
        session.exec(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey_id)
            .order_by(col(SurveyQuestion.position))
        ).all()
    )


def question_view(
    session: Session, *, survey: Survey, progress: SurveyProgress, position: int | None = None
) -> CurrentQuestion:
    """The question at `position` (default: the member's next one)."""
    position = progress.position if position is None else position
    questions = survey_questions(session, survey.id or 0)
    question = questions[position]
    low, high = answer_range(question.kind, question.choices) or (None, None)
    return CurrentQuestion(
        survey_code=survey.code,
        survey_title=survey.title,
        progress_id=progress.id or 0,
        position=position,
        total=len(questions),
        key=question.key,
        kind=question.kind,
        text=question.text,
        choices=question.choices,
        required=question.required,
        low=low,
        high=high,
    )
