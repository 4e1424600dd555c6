"""Taking surveys: the ones on offer, start or resume, stop, and the member's current question."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.funnel import log_event
from core.kernel import Clock, SurveyAlreadyDone, SurveyNotInProgress, run_once
from core.models import Member, Survey, SurveyProgress
from core.points import lock_member
from core.surveys.progress import (
    COMPLETED,
    IN_PROGRESS,
    STOPPED,
    CurrentQuestion,
    active_survey,
    find_progress,
    question_view,
    survey_questions,
)


class StopResult(BaseModel):
    survey_code: str
    progress_id: int
    position: int
    total: int


def start_survey(
    session: Session, *, clock: Clock, member_id: int, survey_code: str, channel: str
) -> CurrentQuestion:
    """Start a survey, or resume it where the member left off (also after a stop).

    Once per member per survey: a completed survey raises SurveyAlreadyDone. Starting one
    survey stops any other in progress, so a typed answer always has one place to go."""
    now = clock.now()

    def work() -> CurrentQuestion:
        member = lock_member(session, member_id)
        survey = active_survey(session, survey_code)
        progress = find_progress(session, member_id=member_id, survey_id=survey.id or 0)
        if progress is not None and progress.status == COMPLETED:
            raise SurveyAlreadyDone("this survey was already answered", survey=survey_code)
        _stop_others(session, member=member, keep=survey.id or 0, now=now, channel=channel)
        if progress is None or progress.status != IN_PROGRESS:
            progress = _open(
                session, member=member, survey=survey, progress=progress, now=now, channel=channel
            )
        return question_view(session, survey=survey, progress=progress)

    return run_once(
        session,
        key=None,
        operation="start_survey",
        request={},
        result_type=CurrentQuestion,
        now=now,
        work=work,
    )


def current_question(session: Session, *, member_id: int) -> CurrentQuestion | None:
    """The member's survey in progress and its next question, or None, so the dialogs can
    take a typed message as the answer. Reads only: a reader session will do."""
    row = session.exec(
        select(SurveyProgress, Survey)
        .join(Survey, col(Survey.id) == SurveyProgress.survey_id)
        .where(
            SurveyProgress.member_id == member_id,
            SurveyProgress.status == IN_PROGRESS,
            col(Survey.active).is_(True),
        )
        .order_by(col(SurveyProgress.updated_at).desc(), col(SurveyProgress.id).desc())
    ).first()
    if row is None:
        return None
    progress, survey = row
    return question_view(session, survey=survey, progress=progress)


def open_surveys(session: Session, *, member_id: int) -> list[Survey]:
    """The active surveys the member has not completed, oldest first: what /survey offers.
    Reads only: a reader session will do."""
    completed = select(SurveyProgress.survey_id).where(
        SurveyProgress.member_id == member_id, SurveyProgress.status == COMPLETED
    )
    return list(
        session.exec(
            select(Survey)
            .where(col(Survey.active).is_(True), col(Survey.id).not_in(completed))
            .order_by(col(Survey.id))
        ).all()
    )


def stop_survey(
    session: Session,
    *,
    clock: Clock,
    member_id: int,
    channel: str,
    survey_code: str | None = None,
) -> StopResult:
    """Stop the member's survey in progress (or the one named); `start_survey` resumes it.
    Stopping a stopped survey changes nothing."""
    now = clock.now()

    def work() -> StopResult:
        member = lock_member(session, member_id)
        progress, survey = _stoppable(session, member_id=member_id, survey_code=survey_code)
        if progress.status == IN_PROGRESS:
            progress.status = STOPPED
            progress.updated_at = now
            log_event(
                session,
                member=member,
                channel=channel,
                type="survey_stopped",
                now=now,
                payload={"survey": survey.code, "position": progress.position},
            )
        return StopResult(
            survey_code=survey.code,
            progress_id=progress.id or 0,
            position=progress.position,
            total=len(survey_questions(session, survey.id or 0)),
        )

    return run_once(
        session,
        key=None,
        operation="stop_survey",
        request={},
        result_type=StopResult,
        now=now,
        work=work,
    )


def _open(
    session: Session,
    *,
    member: Member,
    survey: Survey,
    progress: SurveyProgress | None,
    now: datetime,
    channel: str,
) -> SurveyProgress:
    """A new progress at the first question, or a stopped one reopened where it stopped."""
    if progress is None:
        progress = SurveyProgress(
            member_id=member.id or 0,
            survey_id=survey.id or 0,
            status=IN_PROGRESS,
            started_at=now,
            updated_at=now,
        )
        session.add(progress)
        session.flush()
    progress.status = IN_PROGRESS
    progress.updated_at = now
    log_event(
        session,
        member=member,
        channel=channel,
        type="survey_started",
        now=now,
        payload={
            "survey": survey.code,
            "position": progress.position,
            "resumed": progress.position > 0,
        },
    )
    return progress


def _stoppable(
    session: Session, *, member_id: int, survey_code: str | None
) -> tuple[SurveyProgress, Survey]:
    query = (
        select(SurveyProgress, Survey)
        .join(Survey, col(Survey.id) == SurveyProgress.survey_id)
        .where(SurveyProgress.member_id == member_id)
        .execution_options(populate_existing=True)
    )
    if survey_code is None:
        query = query.where(SurveyProgress.status == IN_PROGRESS)
    else:
        query = query.where(Survey.code == survey_code)
    row = session.exec(query.order_by(col(SurveyProgress.updated_at).desc())).first()
    if row is None:
        raise SurveyNotInProgress("no survey in progress", survey=survey_code)
    if row[0].status == COMPLETED:
        raise SurveyAlreadyDone("this survey was already answered", survey=survey_code)
    return row


def _stop_others(
    session: Session, *, member: Member, keep: int, now: datetime, channel: str
) -> None:
    others = session.exec(
        select(SurveyProgress, Survey)
        .join(Survey, col(Survey.id) == SurveyProgress.survey_id)
        .where(
            SurveyProgress.member_id == member.id,
            SurveyProgress.status == IN_PROGRESS,
            SurveyProgress.survey_id != keep,
        )
    ).all()
    for progress, survey in others:
        progress.status = STOPPED
        progress.updated_at = now
        log_event(
            session,
            member=member,
            channel=channel,
            type="survey_stopped",
            now=now,
            payload={"survey": survey.code, "position": progress.position},
        )
