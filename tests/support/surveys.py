"""Taking surveys in tests through the real use cases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, func, select

from core.kernel import Clock, Database
from core.models import Event
from core.programme import Programme, Question, SurveyRule
from core.surveys import AnswerResult, CurrentQuestion, answer_question, start_survey, sync_surveys

# Every question kind; only the rating is required.
TASTE = SurveyRule(
    code="taste",
    title={"zh-TW": "試喝心得", "en": "Tasting"},
    reward_points=10,
    questions=[
        Question(key="score", kind="nps", text="How likely would you recommend it? (0–10)"),
        Question(
            key="stars",
            kind="rating",
            required=True,
            text={"zh-TW": "幾顆星？", "en": "How many stars?"},
        ),
        Question(
            key="size",
            kind="choice",
            text={"zh-TW": "您點的杯型？", "en": "Which size?"},
            choices=[{"zh-TW": "小杯", "en": "Small"}, {"zh-TW": "大杯", "en": "Large"}],
        ),
        Question(key="note", kind="text", text="Anything else?"),
    ],
)

VALID: dict[str, str | int] = {"nps": 9, "rating": 4, "choice": 1, "text": "ok"}


def with_taste(programme: Programme) -> Programme:
    return programme.model_copy(update={"surveys": [*programme.surveys, TASTE]})


def sync(db: Database, clock: Clock, programme: Programme) -> None:
    with db.session() as session:
        sync_surveys(session, clock=clock, programme=programme)


def start(db: Database, clock: Clock, member_id: int, code: str = "nps") -> CurrentQuestion:
    with db.session() as session:
        return start_survey(
            session, clock=clock, member_id=member_id, survey_code=code, channel="console"
        )


def answer(
    db: Database,
    clock: Clock,
    programme: Programme,
    member_id: int,
    position: int,
    value: str | int | None,
    *,
    code: str = "nps",
    skip: bool = False,
) -> AnswerResult:
    with db.session() as session:
        return answer_question(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            survey_code=code,
            position=position,
            value=value,
            channel="console",
            skip=skip,
        )


def finish(
    db: Database, clock: Clock, programme: Programme, member_id: int, code: str = "nps"
) -> AnswerResult:
    """Start (or resume) and answer every remaining question with a valid value."""
    question: CurrentQuestion | None = start(db, clock, member_id, code)
    result = None
    while question is not None:
        result = answer(
            db, clock, programme, member_id, question.position, VALID[question.kind], code=code
        )
        question = result.next_question
    assert result is not None
    return result


@pytest.fixture
def surveys(db: Database, clock: Clock, programme: Programme) -> Programme:
    """The default programme plus the `taste` survey (every question kind), synced."""
    configured = with_taste(programme)
    sync(db, clock, configured)
    return configured


def survey_events(db: Database, member_id: int) -> list[str]:
    with db.session() as session:
        return list(
            session.exec(
                select(Event.type)
                .where(Event.member_id == member_id, col(Event.type).startswith("survey_"))
                .order_by(col(Event.id))
            ).all()
        )


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def walk_to(
    db: Database,
    clock: Clock,
    programme: Programme,
    member_id: int,
    position: int,
    code: str = "taste",
) -> None:
    """Start `code` and answer the questions before `position` validly."""
    question = start(db, clock, member_id, code)
    while question.position < position:
        result = answer(
            db, clock, programme, member_id, question.position, VALID[question.kind], code=code
        )
        assert result.next_question is not None
        question = result.next_question
