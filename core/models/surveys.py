"""Surveys, their questions, each member's progress and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import JSONType, UTCDateTime


class Survey(SQLModel, table=True):
    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: dict[str, str] = Field(sa_type=JSONType)
    reward_points: int = Field(default=0)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SurveyQuestion(SQLModel, table=True):
    __tablename__ = "survey_question"
    __table_args__ = (sa.UniqueConstraint("survey_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    position: int
    key: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # nps, rating, choice, text
    text: dict[str, str] = Field(sa_type=JSONType)
    choices: list[Any] = Field(default_factory=list, sa_type=JSONType)
    required: bool = Field(default=False)


class SurveyProgress(SQLModel, table=True):
    """Where a member is in a survey; kept in the database so any process takes the next answer."""

    __tablename__ = "survey_progress"
    __table_args__ = (sa.UniqueConstraint("member_id", "survey_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    status: str = Field(max_length=16)  # in_progress, completed, stopped
    position: int = Field(default=0)
    reward_points: int = Field(default=0)
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answer"
    __table_args__ = (sa.UniqueConstraint("progress_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    progress_id: int = Field(foreign_key="survey_progress.id")
    question_id: int = Field(foreign_key="survey_question.id", index=True)
    value_int: int | None = Field(default=None)
    value_text: str | None = Field(default=None, max_length=2000)
    skipped: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
