"""Per-member predictions from the latest `loyalty model` run (churn risk, value, RFM)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import JSONType, UTCDateTime


class MemberScore(SQLModel, table=True):
    """One row per member who had bought by the run's as-of time; a run replaces them all.

    Money is in the programme's currency units (not cents): these are expectations, not
    amounts anyone is charged. `facts` holds what the reasons are worded from (days since
    the last purchase, the member's usual gap, …), so texts stay in the catalogs.
    """

    __tablename__ = "member_score"
    __table_args__ = (sa.Index("ix_member_score_segment", "segment"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    as_of: datetime = Field(sa_type=UTCDateTime)
    time_unit: str = Field(max_length=8)  # day, week: the unit the model was fitted in
    p_alive: float
    churn_risk: float
    expected_purchases: float  # repeat purchases expected within horizon_months
    p_purchase: float  # chance of at least one purchase within horizon_months
    expected_value: float  # per purchase
    lifetime_value: float  # over horizon_months
    horizon_months: int
    recency_score: int
    frequency_score: int
    monetary_score: int
    segment: str = Field(max_length=32)
    reason: str = Field(max_length=32)  # a catalog key: no_repeat_yet, long_silence, …
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    scored_at: datetime = Field(sa_type=UTCDateTime)
