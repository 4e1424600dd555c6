"""Survey results: NPS, distributions and averages per question, and the responses as CSV.

Counted in the database (GROUP BY), never by loading every answer. Reads only.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import SurveyNotFound
from core.models import Survey, SurveyAnswer, SurveyProgress, SurveyQuestion, format_member_number
from core.stats import NpsScore, nps_score
from core.surveys.values import SCALES, answer_range

# A spreadsheet runs a cell that starts like a formula; a leading quote keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Bucket(BaseModel):
    value: int
    label: dict[str, str] | None = None
    """The choice's text, for choice questions."""
    count: int


class QuestionResult(BaseModel):
    position: int
    key: str
    kind: str
    text: dict[str, str]
    answered: int
    skipped: int
    distribution: list[Bucket]
    """Every accepted value with its count (zeros included); empty for text questions."""
    average: float | None
    nps: NpsScore | None


class SurveyResults(BaseModel):
    survey_code: str
    title: dict[str, str]
    active: bool
    started: int
    responses: int
    """Members who answered or skipped at least one question."""
    completed: int
    questions: list[QuestionResult]


def survey_results(session: Session, *, survey_code: str) -> SurveyResults:
    """Per question: answered and skipped counts, the distribution, the average of NPS and
    rating answers, and the NPS; for the survey: started, responses, completed."""
    survey = _survey(session, survey_code)
    counts: dict[int, dict[tuple[int | None, bool], int]] = {}
    for question_id, value, skipped, n in session.exec(
        select(
            SurveyAnswer.question_id,
            SurveyAnswer.value_int,
            SurveyAnswer.skipped,
            sa.func.count(),
        )
        .join(SurveyProgress, col(SurveyProgress.id) == SurveyAnswer.progress_id)
        .where(SurveyProgress.survey_id == survey.id)
        .group_by(
            col(SurveyAnswer.question_id), col(SurveyAnswer.value_int), col(SurveyAnswer.skipped)
        )
    ).all():
        counts.setdefault(question_id, {})[(value, bool(skipped))] = int(n)
    started, completed, responses = _response_counts(session, survey.id or 0)
    return SurveyResults(
        survey_code=survey.code,
        title=survey.title,
        active=survey.active,
        started=started,
        responses=responses,
        completed=completed,
        questions=[
            _question_result(question, counts.get(question.id or 0, {}))
            for question in _questions(session, survey.id or 0)
        ],
    )


def survey_results_csv(session: Session, *, survey_code: str) -> str:
    """One row per response (completed or partial): member number, started, completed
    (UTC, ISO 8601), then one column per question key. No platform ids, no names."""
    survey = _survey(session, survey_code)
    questions = _questions(session, survey.id or 0)
    columns = {question.id: index for index, question in enumerate(questions)}
    kinds = {question.id: question.kind for question in questions}
    rows = session.exec(
        select(SurveyProgress, SurveyAnswer)
        .join(SurveyAnswer, col(SurveyAnswer.progress_id) == SurveyProgress.id)
        .where(SurveyProgress.survey_id == survey.id)
        .order_by(col(SurveyProgress.id), col(SurveyAnswer.id))
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["member_number", "started", "completed", *(q.key for q in questions)])
    for _, group in itertools.groupby(rows, key=lambda row: row[0].id):
        answers = list(group)
        progress = answers[0][0]
        cells = [""] * len(questions)
        for _, answer in answers:
            if answer.question_id in columns and not answer.skipped:
                cells[columns[answer.question_id]] = _cell(
                    kinds[answer.question_id], answer.value_int, answer.value_text
                )
        writer.writerow(
            [
                format_member_number(progress.member_id),
                _time(progress.started_at),
                _time(progress.completed_at),
                *cells,
            ]
        )
    return out.getvalue()


def _survey(session: Session, code: str) -> Survey:
    survey = session.exec(select(Survey).where(Survey.code == code)).one_or_none()
    if survey is None:
        raise SurveyNotFound("no such survey", survey=code)
    return survey


def _questions(session: Session, survey_id: int) -> list[SurveyQuestion]:
    return list(
        session.exec(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey_id)
            .order_by(col(SurveyQuestion.position))
        ).all()
    )


def _response_counts(session: Session, survey_id: int) -> tuple[int, int, int]:
    started, completed = session.exec(
        select(
            sa.func.count(),
            sa.func.coalesce(
                sa.func.sum(sa.case((col(SurveyProgress.status) == "completed", 1), else_=0)), 0
            ),
        ).where(SurveyProgress.survey_id == survey_id)
    ).one()
    responses = session.exec(
        select(sa.func.count(sa.distinct(col(SurveyAnswer.progress_id))))
        .join(SurveyProgress, col(SurveyProgress.id) == SurveyAnswer.progress_id)
        .where(SurveyProgress.survey_id == survey_id)
    ).one()
    return int(started), int(completed), int(responses)


def _question_result(
    question: SurveyQuestion, counts: dict[tuple[int | None, bool], int]
) -> QuestionResult:
    values: dict[int, int] = {}
    for (value, skipped), n in counts.items():
        if not skipped and value is not None:
            values[value] = values.get(value, 0) + n
    bounds = answer_range(question.kind, question.choices)
    distribution = []
    if bounds is not None:
        for value in range(bounds[0], bounds[1] + 1):
            label = question.choices[value - 1] if question.kind == "choice" else None
            distribution.append(Bucket(value=value, label=label, count=values.get(value, 0)))
    numbered = sum(values.values())
    average = None
    if question.kind in SCALES and numbered:
        average = sum(value * n for value, n in values.items()) / numbered
    return QuestionResult(
        position=question.position,
        key=question.key,
        kind=question.kind,
        text=question.text,
        answered=sum(n for (_, skipped), n in counts.items() if not skipped),
        skipped=sum(n for (_, skipped), n in counts.items() if skipped),
        distribution=distribution,
        average=average,
        nps=nps_score(values) if question.kind == "nps" else None,
    )


def _cell(kind: str, value_int: int | None, value_text: str | None) -> str:
    if kind in SCALES or (kind == "choice" and not value_text):
        return "" if value_int is None else str(value_int)
    text = value_text or ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _time(at: datetime | None) -> str:
    return at.isoformat() if at else ""
