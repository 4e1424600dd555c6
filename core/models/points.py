"""The points ledger, purchases, refunds, tier history, check-ins and referrals."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import BigIntPK, UTCDateTime


class LedgerEntry(SQLModel, table=True):
    """One signed movement of points. Positive entries are lots that spends and expiry draw down."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        sa.Index("ix_ledger_entry_member_created", "member_id", "created_at"),
        sa.Index("ix_ledger_entry_lots", "member_id", "remaining", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    member_id: int = Field(foreign_key="member.id")
    amount: int
    kind: str = Field(max_length=16)  # earn, spend, expire, adjust, reverse
    source: str = Field(max_length=16)  # purchase, checkin, referral, survey, coupon, admin, ...
    reason: str = Field(max_length=200)
    actor: str = Field(max_length=100)
    idempotency_key: str = Field(max_length=200, unique=True)
    remaining: int = Field(default=0)
    pending: bool = Field(default=False)
    available_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purchase_id: int | None = Field(default=None, foreign_key="purchase.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Purchase(SQLModel, table=True):
    __tablename__ = "purchase"
    __table_args__ = (sa.Index("ix_purchase_member_occurred", "member_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=100, unique=True)
    member_id: int = Field(foreign_key="member.id")
    amount_cents: int = Field(sa_type=sa.BigInteger)
    refunded_cents: int = Field(default=0, sa_type=sa.BigInteger)
    category: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    points_earned: int = Field(default=0)
    points_reversed: int = Field(default=0)
    source: str = Field(max_length=16)  # chat, api, import
    actor: str = Field(max_length=100)
    campaign_id: int | None = Field(default=None, index=True)
    variant: str | None = Field(default=None, max_length=16)


class Refund(SQLModel, table=True):
    __tablename__ = "refund"

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="purchase.id", index=True)
    refund_key: str = Field(max_length=200, unique=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    points_reversed: int
    points_shortfall: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)


class QualifyingEntry(SQLModel, table=True):
    """Value that counts toward a tier over the rolling window: spend, or growth from activity."""

    __tablename__ = "qualifying_entry"
    __table_args__ = (sa.Index("ix_qualifying_entry_member_created", "member_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    member_id: int = Field(foreign_key="member.id")
    amount: int
    source: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TierChange(SQLModel, table=True):
    __tablename__ = "tier_change"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    from_tier: str | None = Field(default=None, max_length=32)
    to_tier: str = Field(max_length=32)
    reason: str = Field(max_length=32)  # signup, upgrade, review, admin
    created_at: datetime = Field(sa_type=UTCDateTime)


class Checkin(SQLModel, table=True):
    __tablename__ = "checkin"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    local_date: date = Field(primary_key=True)
    streak: int
    points: int
    created_at: datetime = Field(sa_type=UTCDateTime)


class Referral(SQLModel, table=True):
    """A friend who signed up with a member's invite code; rewarded once per invitee."""

    __tablename__ = "referral"

    invitee_id: int = Field(foreign_key="member.id", primary_key=True)
    referrer_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    signup_rewarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purchase_rewarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
