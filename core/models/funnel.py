"""The event log, each member's stage entries, and the incrementally kept funnel counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import BigIntPK, JSONType, UTCDateTime


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        sa.Index("ix_event_member_created", "member_id", "created_at"),
        sa.Index("ix_event_type_created", "type", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    channel: str = Field(max_length=16)
    type: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    campaign_id: int | None = Field(default=None, index=True)
    variant: str | None = Field(default=None, max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(sa_type=UTCDateTime)


class StageEntry(SQLModel, table=True):
    """The moment a member first entered a funnel stage; recorded once."""

    __tablename__ = "stage_entry"
    __table_args__ = (sa.Index("ix_stage_entry_stage_entered", "stage", "entered_at"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    stage: str = Field(max_length=16, primary_key=True)
    channel: str = Field(max_length=16)
    entered_at: datetime = Field(sa_type=UTCDateTime)


class FunnelDaily(SQLModel, table=True):
    """How many members entered each stage, per programme-local day and channel."""

    __tablename__ = "funnel_daily"

    day: date = Field(primary_key=True)
    stage: str = Field(max_length=16, primary_key=True)
    channel: str = Field(max_length=16, primary_key=True)
    entered: int = Field(default=0)
