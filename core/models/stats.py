"""Counters kept for admin stats, written in the same transaction as the rows they count.

What each counter counts, and which day it is dated by, is listed in core.stats.counters;
core.stats.rebuild recomputes all of them from the base tables.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class StatsDaily(SQLModel, table=True):
    """One figure (purchases, revenue in cents, coupon claims, NPS promoters, ...) per
    programme-local day."""

    __tablename__ = "stats_daily"

    day: date = Field(primary_key=True)
    metric: str = Field(max_length=32, primary_key=True)
    value: int = Field(default=0, sa_type=sa.BigInteger)


class BuyerCohort(SQLModel, table=True):
    """Buyers by the local day of their first purchase: how many bought again at all, and
    how many bought again within 30 and 90 days of that first purchase."""

    __tablename__ = "buyer_cohort"

    first_day: date = Field(primary_key=True)
    buyers: int = Field(default=0)
    repeaters: int = Field(default=0)
    repeat_30d: int = Field(default=0)
    repeat_90d: int = Field(default=0)


class StageCohort(SQLModel, table=True):
    """Members who entered `stage` on `entered_day` and the next stage `days_to_next`
    local days later (capped: the last bucket holds everyone later than that)."""

    __tablename__ = "stage_cohort"

    stage: str = Field(max_length=16, primary_key=True)
    entered_day: date = Field(primary_key=True)
    days_to_next: int = Field(primary_key=True)
    members: int = Field(default=0)


class CampaignCounter(SQLModel, table=True):
    """Claims, redemptions, purchases and revenue attributed to a campaign's variant.

    No foreign key: attribution ids come from links members tapped, and a counter must not
    fail the claim or the sale it counts."""

    __tablename__ = "campaign_counter"

    campaign_id: int = Field(primary_key=True)
    variant: str = Field(max_length=16, primary_key=True)
    metric: str = Field(max_length=32, primary_key=True)
    value: int = Field(default=0, sa_type=sa.BigInteger)
