"""Survey definitions in the database, kept in step with the programme config and the admin API.

Questions are stored by position. Texts, choices' wording, the required flag, the title and
the reward are updated in place. The shape (each position's key and kind, the number of
questions and of choices) changes freely while a survey has no answers. Once it has
answers, only compatible changes apply: new questions appended at the end (members
mid-survey are asked them too) and new choices appended to a question. Any other shape
change is not applied and is reported in `kept_shape`, so no stored answer is ever read
against a different question; to ask different questions, give the survey a new code.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import Clock, run_once
from core.models import AuditLog, Survey, SurveyAnswer, SurveyProgress, SurveyQuestion
from core.programme import Programme, Question, SurveyRule
from core.surveys.values import as_texts

DEFINE_ACTION = "survey.define"
"""Audit action of `define_survey`; config syncs leave surveys defined this way alone."""


class SurveySyncResult(BaseModel):
    created: list[str]
    updated: list[str]
    deactivated: list[str]
    kept_shape: list[str]
    """Surveys whose question shape changed in the config but had answers: shape kept."""


class SurveyDefinition(BaseModel):
    code: str
    active: bool
    questions: int
    created: bool
    updated: bool
    kept_shape: bool


def sync_surveys(session: Session, *, clock: Clock, programme: Programme) -> SurveySyncResult:
    """Make the database's surveys match the programme config (run at start-up and on reload).

    Idempotent. A survey no longer in the config becomes inactive (its results stay),
    unless an admin defined it through `define_survey`."""
    now = clock.now()

    def work() -> SurveySyncResult:
        result = SurveySyncResult(created=[], updated=[], deactivated=[], kept_shape=[])
        for rule in programme.surveys:
            outcome = _upsert(session, rule=rule, now=now)
            if outcome.created:
                result.created.append(rule.code)
            elif outcome.updated:
                result.updated.append(rule.code)
            if outcome.kept_shape:
                result.kept_shape.append(rule.code)
        configured = [rule.code for rule in programme.surveys]
        admin_defined = set(
            session.exec(select(AuditLog.target).where(AuditLog.action == DEFINE_ACTION)).all()
        )
        stale = session.exec(
            select(Survey).where(col(Survey.active).is_(True), col(Survey.code).not_in(configured))
        ).all()
        for survey in stale:
            if survey.code not in admin_defined:
                survey.active = False
                result.deactivated.append(survey.code)
        return result

    return run_once(
        session,
        key=None,
        operation="sync_surveys",
        request={},
        result_type=SurveySyncResult,
        now=now,
        work=work,
    )


def define_survey(
    session: Session, *, clock: Clock, rule: SurveyRule, actor: str = "api"
) -> SurveyDefinition:
    """Create or update one survey (the admin API), audited; same update rules as the config.

    Config syncs will not deactivate it; deactivate it by defining it with `active=False`."""
    now = clock.now()

    def work() -> SurveyDefinition:
        outcome = _upsert(session, rule=rule, now=now)
        session.add(
            AuditLog(
                actor=actor[:160],
                action=DEFINE_ACTION,
                target=rule.code,
                details=outcome.model_dump(exclude={"code"}),
                created_at=now,
            )
        )
        return outcome

    return run_once(
        session,
        key=None,
        operation="define_survey",
        request={},
        result_type=SurveyDefinition,
        now=now,
        work=work,
    )


def _upsert(session: Session, *, rule: SurveyRule, now: datetime) -> SurveyDefinition:
    survey = session.exec(select(Survey).where(Survey.code == rule.code)).one_or_none()
    created = survey is None
    if survey is None:
        survey = Survey(code=rule.code, title={}, created_at=now)
        session.add(survey)
    updated = _assign(survey, title=as_texts(rule.title), reward_points=rule.reward_points)
    updated |= _assign(survey, active=rule.active)
    session.flush()
    rows = list(
        session.exec(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(col(SurveyQuestion.position))
        ).all()
    )
    fits = _compatible(rows, rule.questions) or not _has_answers(session, survey.id or 0)
    if fits:
        updated |= _write_questions(session, survey_id=survey.id or 0, rows=rows, rule=rule)
    return SurveyDefinition(
        code=rule.code,
        active=survey.active,
        questions=len(rule.questions) if fits else len(rows),
        created=created,
        updated=updated and not created,
        kept_shape=not fits,
    )


def _compatible(rows: list[SurveyQuestion], questions: list[Question]) -> bool:
    """Whether every stored question keeps its meaning: same key, kind, choices or more."""
    if len(questions) < len(rows):
        return False
    return all(
        row.key == question.key
        and row.kind == question.kind
        and len(question.choices) >= len(row.choices)
        for row, question in zip(rows, questions, strict=False)
    )


def _has_answers(session: Session, survey_id: int) -> bool:
    answer = session.exec(
        select(SurveyAnswer.id)
        .join(SurveyProgress, col(SurveyProgress.id) == SurveyAnswer.progress_id)
        .where(SurveyProgress.survey_id == survey_id)
        .limit(1)
    ).first()
    return answer is not None


def _write_questions(
    session: Session, *, survey_id: int, rows: list[SurveyQuestion], rule: SurveyRule
) -> bool:
    changed = False
    for position, question in enumerate(rule.questions):
        if position < len(rows):
            row = rows[position]
        else:
            row = SurveyQuestion(survey_id=survey_id, position=position, key="", kind="", text={})
            session.add(row)
        changed |= _assign(
            row,
            key=question.key,
            kind=question.kind,
            text=as_texts(question.text),
            choices=[as_texts(choice) for choice in question.choices],
            required=question.required,
        )
    for row in rows[len(rule.questions) :]:  # only reached while nobody has answered
        session.delete(row)
        changed = True
    session.flush()
    return changed


def _assign(row: object, **values: object) -> bool:
    """Set the attributes that differ; True if any did (so a repeat sync reports nothing)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
