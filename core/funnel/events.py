"""The sales funnel: events, forward-only stage moves, and the counts kept for stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel import increment, local_day
from core.models import Event, FunnelDaily, Member, StageEntry
from core.programme import STAGES, Programme
from core.stats import note_stage_entries

# Events the system writes about a member, or a block: not the member being active.
NOT_ACTIVITY = frozenset(
    {
        "blocked",
        "unblocked",
        "unfollow",
        "points_expired",
        "points_released",
        "coupon_expired",
        "tier_warning",
        "tier_down",
        "at_risk",
        "lapsed",
        "erased",
    }
)
STAGE_RANK = {stage: rank for rank, stage in enumerate(STAGES)}


def log_event(
    session: Session,
    *,
    member: Member | None,
    channel: str,
    type: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    campaign_id: int | None = None,
    variant: str | None = None,
) -> Event:
    """Append an interaction to the event log with the member's stage at the time.

    Only what the member (or staff serving them) did counts as activity: what the system
    writes about them (expiry, warnings, reviews) and blocking the bot does not."""
    event = Event(
        member_id=member.id if member else None,
        channel=channel,
        type=type,
        stage=member.stage if member else "awareness",
        campaign_id=campaign_id,
        variant=variant,
        payload=payload or {},
        created_at=now,
    )
    session.add(event)
    if member is not None and type not in NOT_ACTIVITY:
        member.last_activity_at = now
    return event


def log_member_event(
    session: Session,
    *,
    member_id: int,
    channel: str,
    type: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> bool:
    """`log_event` for a member known by id, in two statements and without loading the
    member (each chat turn ends with one). False, and nothing written, when the member is
    unknown or erased. Does not commit."""
    alive = sa.and_(col(Member.id) == member_id, col(Member.erased_at).is_(None))
    if type in NOT_ACTIVITY:
        stage = session.execute(sa.select(col(Member.stage)).where(alive)).scalar_one_or_none()
    else:
        stage = session.execute(
            sa.update(Member).where(alive).values(last_activity_at=now).returning(col(Member.stage))
        ).scalar_one_or_none()
    if stage is None:
        return False
    session.execute(
        sa.insert(Event).values(
            member_id=member_id,
            channel=channel,
            type=type,
            stage=stage,
            payload=payload or {},
            created_at=now,
        )
    )
    return True


def advance_stage(
    session: Session,
    *,
    member: Member,
    to: str,
    channel: str,
    now: datetime,
    programme: Programme,
) -> list[str]:
    """Move the member forward to stage `to`; stages only move forward.

    Stages skipped on the way (a first purchase straight after sign-up passes `decision`)
    are entered at the same time, so every member who entered k+1 also entered k and
    conversion k→k+1 is a plain ratio. Returns the stages newly entered."""
    if to not in STAGE_RANK:
        raise ValueError(f"unknown stage {to!r}")
    current = STAGE_RANK.get(member.stage, -1)  # a brand-new member has no stage yet
    entered = [stage for stage in STAGES if current < STAGE_RANK[stage] <= STAGE_RANK[to]]
    if not entered:
        return []
    day = local_day(now, programme.zone)
    for stage in entered:
        session.add(
            StageEntry(member_id=member.id or 0, stage=stage, channel=channel, entered_at=now)
        )
        increment(session, FunnelDaily, {"day": day, "stage": stage, "channel": channel}, "entered")
    note_stage_entries(
        session, member_id=member.id or 0, entered=entered, now=now, programme=programme
    )
    member.stage = to
    member.stage_at = now
    return entered


def stage_entries(session: Session, member_id: int) -> dict[str, datetime]:
    rows = session.exec(select(StageEntry).where(StageEntry.member_id == member_id)).all()
    return {row.stage: row.entered_at for row in rows}
