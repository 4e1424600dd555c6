"""Coupon definitions and the coupons members hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import JSONType, UTCDateTime


class CouponDefinition(SQLModel, table=True):
    __tablename__ = "coupon_definition"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: dict[str, str] = Field(sa_type=JSONType)
    description: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)
    kind: str = Field(max_length=16)  # amount_off, percent_off, spend_save, free_item, gift
    value: int = Field(default=0)
    min_spend: int = Field(default=0)
    stock: int | None = Field(default=None)
    claimed: int = Field(default=0)
    per_member_limit: int = Field(default=1)
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_days: int | None = Field(default=None)
    points_cost: int = Field(default=0)
    eligibility: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    active: bool = Field(default=True)
    source: str = Field(default="config", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CouponGrant(SQLModel, table=True):
    """A coupon a member claimed: a unique code staff redeem once."""

    __tablename__ = "coupon_grant"
    __table_args__ = (
        sa.Index("ix_coupon_grant_member_definition", "member_id", "definition_id"),
        sa.Index("ix_coupon_grant_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    definition_id: int = Field(foreign_key="coupon_definition.id")
    member_id: int = Field(foreign_key="member.id")
    code: str = Field(max_length=16, unique=True)
    status: str = Field(max_length=16)  # active, redeemed, expired
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    redeemed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    redeemed_by: str | None = Field(default=None, max_length=100)
    redeemed_order_id: str | None = Field(default=None, max_length=100)
    points_spent: int = Field(default=0)
    idempotency_key: str = Field(max_length=200, unique=True)
    campaign_id: int | None = Field(default=None, index=True)
    variant: str | None = Field(default=None, max_length=16)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
