"""Segments: who a campaign reaches. A spec of composable filters becomes one SQL query over
the member table (all filters AND-ed; the values inside one filter OR-ed).

Every segment holds only members who signed up, are not erased, have not opted out of
promotions and have a reachable chat account on a configured channel.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from core.members import latest_identity
from core.models import ChannelIdentity, Member, MemberTag
from core.programme import Stage

Risk = Literal["active", "at_risk", "lapsed"]
Days = Annotated[int, Field(ge=0, le=36_500)]
_M = Member.__table__  # type: ignore[attr-defined]
_CI = ChannelIdentity.__table__  # type: ignore[attr-defined]
_TAG = MemberTag.__table__  # type: ignore[attr-defined]
_ANY_CI = _CI.alias("reachable_identity")


class Segment(BaseModel):
    """Filters, each optional. Days since last activity count from sign-up for a member
    who has done nothing since; days since last purchase match only members who bought."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[Stage] = []
    tiers: list[Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]] = []
    risk: list[Risk] = []
    rfm: list[Annotated[str, Field(min_length=1, max_length=32)]] = []
    inactive_days_min: Days | None = None
    inactive_days_max: Days | None = None
    purchase_days_min: Days | None = None
    purchase_days_max: Days | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    birthday_month: Annotated[int, Field(ge=1, le=12)] | None = None
    channels: list[Literal["telegram", "line", "console"]] = []

    @model_validator(mode="after")
    def _ranges(self) -> Segment:
        for name in ("inactive", "purchase"):
            low, high = getattr(self, f"{name}_days_min"), getattr(self, f"{name}_days_max")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}_days_min is more than {name}_days_max")
        return self


def reachable_channels(spec: Segment, channels: Collection[str]) -> list[str]:
    """The configured channels the segment may use."""
    allowed = set(channels) & set(spec.channels) if spec.channels else set(channels)
    return sorted(allowed)


def segment_filter(spec: Segment, now: datetime, channels: Collection[str]) -> list[Any]:
    """The WHERE conditions on `member` for the segment."""
    usable = reachable_channels(spec, channels)
    conditions: list[Any] = [
        _M.c.consent_at.is_not(None),
        _M.c.erased_at.is_(None),
        _M.c.opted_out.is_(False),
        _M.c.unreachable.is_(False),
        sa.exists()
        .where(
            _ANY_CI.c.member_id == _M.c.id,
            _ANY_CI.c.unreachable.is_(False),
            _ANY_CI.c.channel.in_(usable),
        )
        .correlate_except(_ANY_CI),
    ]
    if spec.stages:
        conditions.append(_M.c.stage.in_(spec.stages))
    if spec.tiers:
        conditions.append(_M.c.tier.in_(spec.tiers))
    if spec.risk:
        conditions.append(_M.c.risk.in_(spec.risk))
    if spec.rfm:
        conditions.append(_M.c.segment.in_(spec.rfm))
    active = sa.func.coalesce(_M.c.last_activity_at, _M.c.consent_at)
    conditions += _days(active, now, spec.inactive_days_min, spec.inactive_days_max)
    conditions += _days(_M.c.last_purchase_at, now, spec.purchase_days_min, spec.purchase_days_max)
    if spec.tags:
        conditions.append(sa.exists().where(_TAG.c.member_id == _M.c.id, _TAG.c.tag.in_(spec.tags)))
    if spec.birthday_month is not None:
        conditions.append(sa.extract("month", _M.c.birthday) == spec.birthday_month)
    return conditions


def _days(column: Any, now: datetime, low: int | None, high: int | None) -> list[Any]:
    """At least `low` and at most `high` whole days ago (NULL never matches)."""
    found: list[Any] = []
    if low is not None:
        found.append(column <= now - timedelta(days=low))
    if high is not None:
        found.append(column > now - timedelta(days=high + 1))
    if found:
        found.append(column.is_not(None))
    return found


def segment_query(spec: Segment, now: datetime, channels: Collection[str]) -> sa.Select[Any]:
    """SELECT member.id for the segment (ordered by id, for batching)."""
    return sa.select(_M.c.id).where(*segment_filter(spec, now, channels)).order_by(_M.c.id)


def audience_count(
    session: Session, spec: Segment, now: datetime, channels: Collection[str]
) -> int:
    """How many members the segment holds right now: one COUNT."""
    statement = (
        sa.select(sa.func.count()).select_from(_M).where(*segment_filter(spec, now, channels))
    )
    return int(session.execute(statement).scalar_one())


def audience_by_channel(
    session: Session, spec: Segment, now: datetime, channels: Collection[str]
) -> dict[str, int]:
    """How many messages would go out on each channel (each member's most recently seen
    reachable chat account), for the preview and LINE's message quota."""
    usable = reachable_channels(spec, channels)
    statement = (
        sa.select(_CI.c.channel, sa.func.count())
        .select_from(_M.join(_CI, _CI.c.id == latest_identity(_M.c.id, usable)))
        .where(*segment_filter(spec, now, channels))
        .group_by(_CI.c.channel)
    )
    return {channel: int(count) for channel, count in session.execute(statement)}
