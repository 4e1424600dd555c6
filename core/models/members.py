"""Members, their channel identities and tags."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import UTCDateTime


class Member(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (
        sa.Index("ix_member_stage", "stage"),
        sa.Index("ix_member_tier", "tier"),
        sa.Index("ix_member_last_activity_at", "last_activity_at"),
        sa.Index("ix_member_last_purchase_at", "last_purchase_at"),
        sa.Index("ix_member_tier_expires_at", "tier_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    email: str | None = Field(default=None, max_length=320)
    birthday: date | None = Field(default=None)
    external_ref: str | None = Field(default=None, max_length=100, unique=True)
    locale: str = Field(max_length=16)
    timezone: str = Field(max_length=64)
    source_channel: str = Field(max_length=16)
    consent_version: str | None = Field(default=None, max_length=32)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opted_out: bool = Field(default=False)
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unreachable: bool = Field(default=False)
    invite_code: str = Field(max_length=16, unique=True)
    referrer_id: int | None = Field(default=None, foreign_key="member.id")
    tier: str = Field(max_length=32)
    tier_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tier_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tier_warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stage: str = Field(max_length=16)
    stage_at: datetime = Field(sa_type=UTCDateTime)
    risk: str = Field(default="active", max_length=16)  # active, at_risk, lapsed
    segment: str | None = Field(default=None, max_length=32)  # RFM segment, when scored
    points_balance: int = Field(default=0)
    points_pending: int = Field(default=0)
    points_earned_total: int = Field(default=0)
    purchase_count: int = Field(default=0)
    spent_cents: int = Field(default=0, sa_type=sa.BigInteger)
    first_purchase_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_purchase_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_streak: int = Field(default=0)
    last_checkin_on: date | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def number(self) -> str:
        """The public member number shown in chat and typed by staff, e.g. M000123."""
        return format_member_number(self.id or 0)

    @property
    def signed_up(self) -> bool:
        return self.consent_at is not None and self.erased_at is None


def format_member_number(member_id: int) -> str:
    return f"M{member_id:06d}"


class ChannelIdentity(SQLModel, table=True):
    """One member's account on one channel (a Telegram user, a LINE user, a console name)."""

    __tablename__ = "channel_identity"
    __table_args__ = (sa.UniqueConstraint("channel", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    channel: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    unreachable: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


class MemberTag(SQLModel, table=True):
    __tablename__ = "member_tag"
    __table_args__ = (sa.Index("ix_member_tag_tag", "tag"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    tag: str = Field(max_length=64, primary_key=True)
