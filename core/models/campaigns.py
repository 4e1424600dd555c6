"""Campaigns, the delivery outbox they and the automations write, and scheduler leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import BigIntPK, JSONType, UTCDateTime


class Campaign(SQLModel, table=True):
    """A promotion to a segment: content per variant, a schedule, an A/B metric."""

    __tablename__ = "campaign"
    __table_args__ = (sa.Index("ix_campaign_status_next_run", "status", "next_run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    status: str = Field(max_length=16)  # draft, scheduled, sending, done, cancelled
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    variants: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    metric: str = Field(default="redeemed", max_length=16)
    send_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    every_days: int | None = Field(default=None)
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    runs: int = Field(default=0)
    attribution_days: int = Field(default=7)
    targeted: int = Field(default=0)
    created_by: str = Field(max_length=160)
    created_at: datetime = Field(sa_type=UTCDateTime)
    launched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One message to one member (the outbox). `dedupe_key` makes each campaign run or
    automation period reach a member at most once, whatever crashes and retries happen."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.Index("ix_delivery_due", "status", "channel", "not_before"),
        sa.Index("ix_delivery_member_sent", "member_id", "sent_at"),
        sa.Index("ix_delivery_campaign_status", "campaign_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    dedupe_key: str = Field(max_length=160, unique=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    automation: str | None = Field(default=None, max_length=64)
    run: int = Field(default=0)
    variant: str = Field(default="A", max_length=16)
    member_id: int = Field(foreign_key="member.id")
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=128)
    locale: str = Field(max_length=16)
    promotional: bool = Field(default=True)
    content: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(max_length=16)  # queued, sending, sent, failed, blocked, skipped
    reason: str | None = Field(default=None, max_length=64)
    not_before: datetime = Field(sa_type=UTCDateTime)
    batch_key: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the request carrying the row left, on a channel with no idempotency key
    # (Telegram): a row still `sending` with it set may have arrived, and is not sent again.
    attempted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clicked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SchedulerLease(SQLModel, table=True):
    """Which process runs the scheduler, for databases without advisory locks (SQLite)."""

    __tablename__ = "scheduler_lease"

    name: str = Field(max_length=32, primary_key=True)
    holder: str = Field(max_length=120)
    expires_at: datetime = Field(sa_type=UTCDateTime)
