"""Operational records: idempotency, processed webhook updates, audit log, admins, API tokens,
rate limits shared by processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import BigIntPK, JSONType, UTCDateTime


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a use case run under a key; a repeat returns it unchanged."""

    __tablename__ = "idempotency_record"

    key: str = Field(max_length=200, primary_key=True)
    operation: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(sa_type=UTCDateTime)


class InboundUpdate(SQLModel, table=True):
    """A webhook update accepted from a platform, kept so a redelivery has no second effect."""

    __tablename__ = "inbound_update"
    __table_args__ = (
        sa.UniqueConstraint("channel", "update_id"),
        sa.Index("ix_inbound_update_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    channel: str = Field(max_length=16)
    update_id: str = Field(max_length=128)
    status: str = Field(max_length=16)  # received, processing, done, failed
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    user_key: str | None = Field(default=None, max_length=160)
    attempts: int = Field(default=0)
    error: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    actor: str = Field(max_length=160)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=160)
    allowed: bool = Field(default=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Admin(SQLModel, table=True):
    __tablename__ = "admin"
    __table_args__ = (sa.UniqueConstraint("channel", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=128)
    added_by: str = Field(max_length=160)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """An admin API bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RateLimit(SQLModel, table=True):
    """A rate limit several processes keep together (PostgreSQL): the key's theoretical
    arrival time, in seconds since the epoch (GCRA; see bot.app.shared_limits)."""

    __tablename__ = "rate_limit"

    key: str = Field(max_length=160, primary_key=True)
    tat: float
